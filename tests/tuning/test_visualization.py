"""The lambda-power-tuning.show URL both ways, checked against the reference's example output."""

from __future__ import annotations

import pytest

from tuning.engine.visualization import decode_url, encode_url

EXAMPLE_URL = (
    "https://lambda-power-tuning.show/#gAAAAQACAAQABsAL;1MQWRav2lkQfDRdECieXQzptTkPNDD9D;"
    "Ty+pNm1lqTaVrak2la2pNhIwrja4Ix43"
)
EXAMPLE_STATS = [  # the example output's stats (durations printed to 2 decimals)
    {"value": 128, "averagePrice": 0.0000050421, "averageDuration": 2412.30},
    {"value": 256, "averagePrice": 0.0000050484, "averageDuration": 1207.71},
    {"value": 512, "averagePrice": 0.0000050568, "averageDuration": 604.21},
    {"value": 1024, "averagePrice": 0.0000050568, "averageDuration": 302.31},
    {"value": 1536, "averagePrice": 0.0000051912, "averageDuration": 206.43},
    {"value": 3008, "averagePrice": 0.00000942585, "averageDuration": 191.05},
]


def test_decoding_the_example_recovers_its_stats() -> None:
    decoded = decode_url(EXAMPLE_URL)
    assert [row["value"] for row in decoded] == [128, 256, 512, 1024, 1536, 3008]
    for row, expected in zip(decoded, EXAMPLE_STATS, strict=True):
        assert row["averageDuration"] == pytest.approx(expected["averageDuration"], abs=0.01)
        assert row["averagePrice"] == pytest.approx(expected["averagePrice"], rel=1e-6)  # Float32


def test_encoding_the_example_stats_gives_the_example_hash_for_sizes_and_prices() -> None:
    sizes, _, prices = encode_url(EXAMPLE_STATS).split("#")[1].split(";")
    expected_sizes, _, expected_prices = EXAMPLE_URL.split("#")[1].split(";")
    assert (sizes, prices) == (expected_sizes, expected_prices)


def test_round_trip_is_exact_for_float32_values() -> None:
    assert encode_url(decode_url(EXAMPLE_URL)) == EXAMPLE_URL


def test_rows_are_sorted_by_power_and_base_url_is_kept() -> None:
    url = encode_url(list(reversed(EXAMPLE_STATS)), base_url="https://viz.example.org/")
    assert url.startswith("https://viz.example.org/#")
    assert url.split("#")[1] == encode_url(EXAMPLE_STATS).split("#")[1]


def test_china_regions_add_the_currency() -> None:
    assert encode_url(EXAMPLE_STATS, region="cn-northwest-1").startswith(
        "https://lambda-power-tuning.show/?currency=CNY#gAAAAQACAAQABsAL;"
    )
    assert "currency" not in encode_url(EXAMPLE_STATS, region="eu-west-1")


def test_a_comparison_url_yields_its_first_run() -> None:
    hash_ = EXAMPLE_URL.split("#")[1]
    comparison = f"https://lambda-power-tuning.show/#{hash_};{hash_};x86;arm64"
    assert decode_url(comparison) == decode_url(EXAMPLE_URL)


@pytest.mark.parametrize(
    "url",
    [
        "https://lambda-power-tuning.show/",
        "https://lambda-power-tuning.show/#abc",
        "https://lambda-power-tuning.show/#gAA!;AAAA;AAAA",
        "https://lambda-power-tuning.show/#gAA=;AAAAAA==;AAAA",
        "https://lambda-power-tuning.show/#gAAAAQ==;AAAAAA==;AAAAAA==",
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"[Vv]isualization"):
        decode_url(url)
