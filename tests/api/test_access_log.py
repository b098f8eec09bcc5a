"""The access-log line: the deployed formats, and the line API Gateway writes with each for one request."""

from __future__ import annotations

from datetime import UTC, datetime

from api.access_log import HTTP_FORMAT, REST_FORMAT, Answer, access_log_line
from api.events import HTTP_PAYLOAD, REST_PAYLOAD, ProxyRequest, proxy_event
from api.wire_sizes import wire_request

NOW = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
GET_ITEM = ProxyRequest(
    method="GET",
    resource="/items/{id}",
    path_parameters={"id": "a1"},
    headers=[("Host", "h.io")],
    request_id="req-1",
    source_ip="198.51.100.7",
)
OK = Answer(status=200, body_bytes=11, latency_ms=42)


def test_the_deployed_formats_are_the_stages_json_lines_byte_for_byte() -> None:
    """What the stages were deployed with before the formats moved to api/: a change redeploys the stages."""
    assert REST_FORMAT == (
        '{"requestId":"$context.requestId","extendedRequestId":"$context.extendedRequestId",'
        '"ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",'
        '"resourcePath":"$context.resourcePath","path":"$context.path","status":"$context.status",'
        '"protocol":"$context.protocol","responseLength":"$context.responseLength",'
        '"responseLatency":"$context.responseLatency","integrationLatency":"$context.integration.latency",'
        '"integrationStatus":"$context.integration.status","integrationError":"$context.integration.error",'
        '"errorMessage":"$context.error.message","apiKeyId":"$context.identity.apiKeyId",'
        '"xrayTraceId":"$context.xrayTraceId"}'
    )
    assert HTTP_FORMAT == (
        '{"requestId":"$context.requestId","extendedRequestId":"$context.extendedRequestId",'
        '"ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",'
        '"path":"$context.path","status":"$context.status","protocol":"$context.protocol",'
        '"responseLength":"$context.responseLength","responseLatency":"$context.responseLatency",'
        '"integrationLatency":"$context.integration.latency","integrationStatus":"$context.integration.status",'
        '"integrationError":"$context.integration.error","errorMessage":"$context.error.message",'
        '"routeKey":"$context.routeKey","authorizerError":"$context.authorizer.error"}'
    )


def test_a_rest_request_renders_every_variable_and_a_dash_where_api_gateway_writes_one() -> None:
    line = access_log_line(wire_request(proxy_event(GET_ITEM, NOW, REST_PAYLOAD)), OK)
    assert line == (
        '{"requestId":"req-1","extendedRequestId":"req-1","ip":"198.51.100.7",'
        '"requestTime":"01/Dec/2026:10:00:00 +0000","httpMethod":"GET","resourcePath":"/items/{id}",'
        '"path":"/prod/items/a1","status":"200","protocol":"HTTP/1.1","responseLength":"11",'
        '"responseLatency":"42","integrationLatency":"42","integrationStatus":"200","integrationError":"-",'
        '"errorMessage":"-","apiKeyId":"-","xrayTraceId":"-"}'
    )


def test_an_http_api_request_renders_its_route_key_and_no_rest_only_field() -> None:
    line = access_log_line(wire_request(proxy_event(GET_ITEM, NOW, HTTP_PAYLOAD)), OK)
    assert line == (
        '{"requestId":"req-1","extendedRequestId":"req-1","ip":"198.51.100.7",'
        '"requestTime":"01/Dec/2026:10:00:00 +0000","httpMethod":"GET","path":"/prod/items/a1",'
        '"status":"200","protocol":"HTTP/1.1","responseLength":"11","responseLatency":"42","integrationLatency":"42",'
        '"integrationStatus":"200","integrationError":"-","errorMessage":"-","routeKey":"GET /items/{id}",'
        '"authorizerError":"-"}'
    )


def test_a_keyed_traced_request_the_front_door_failed_logs_its_key_trace_and_message() -> None:
    keyed = ProxyRequest(method="DELETE", resource="/items/{id}", path_parameters={"id": "a1"}, api_key="k")
    failed = Answer(
        status=502, body_bytes=36, latency_ms=7, error_message="Internal server error", traced=True
    )
    line = access_log_line(wire_request(proxy_event(keyed, NOW, REST_PAYLOAD)), failed)
    assert '"status":"502"' in line
    assert '"errorMessage":"Internal server error"' in line
    assert '"apiKeyId":"local-api-key"' in line  # the key's id, never the key
    assert '"xrayTraceId":"1-00000000-000000000000000000000000"' in line  # X-Ray's one width: 35 characters
