"""How the user sets things, and the limits each setting is checked against: the stack's config (one parser,
fed from `pulumi.Config` by the program and from Pulumi.yaml + Pulumi.<stack>.yaml offline), Lambda's limits
and the repository's paths. Imports nothing else of the repository, so every other package may import it."""
