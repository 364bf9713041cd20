"""Check response bodies against the schemas of the generated OpenAPI document."""

import jsonschema


def conforms(spec: dict, body: object, schema_name: str) -> None:
    """Raise unless ``body`` validates against ``components/schemas/<schema_name>`` of the document."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)
