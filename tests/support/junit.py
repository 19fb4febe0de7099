"""JUnit files checked against the Jenkins xUnit plugin's schema (``tests/data/junit-10.xsd``)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "junit-10.xsd"


def assert_valid_junit(path: Path) -> etree._Element:
    """The root of the JUnit file at ``path``; fails the test unless the schema accepts it."""
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    document = etree.parse(str(path))
    assert schema.validate(document), f"{path}: {schema.error_log}"
    return document.getroot()
