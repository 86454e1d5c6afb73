"""The redaction layer masks registered secrets in every form they may take."""

import io

from shipwright.redact import MASK, RedactingStream, Redactor


def test_masks_value_url_encoded_and_uri_password():
    r = Redactor()
    r.add("mongodb://app:s3cr%40t-pass@db:27017/x")
    r.add("plain-secret-value")
    text = "uri=mongodb://app:s3cr%40t-pass@db:27017/x pw=s3cr@t-pass other=plain-secret-value"
    out = r.redact(text)
    assert "s3cr" not in out and "plain-secret-value" not in out
    assert out.count(MASK) == 3


def test_short_values_are_not_secrets():
    r = Redactor()
    r.add("1")
    assert r.redact("port 1") == "port 1"


def test_stream_catches_a_secret_split_across_writes():
    r = Redactor()
    r.add("topsecretvalue")
    target = io.StringIO()
    stream = RedactingStream(target, r)
    stream.write("token=topse")
    stream.write("cretvalue\nnext")
    stream.flush()
    assert target.getvalue() == f"token={MASK}\nnext"


def test_redact_obj_walks_nested_structures():
    r = Redactor()
    r.add("hunter2hunter2")
    data = {"a": ["x hunter2hunter2", {"b": "hunter2hunter2"}], "n": 3}
    assert r.redact_obj(data) == {"a": [f"x {MASK}", {"b": MASK}], "n": 3}
