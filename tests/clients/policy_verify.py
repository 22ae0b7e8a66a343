#!/usr/bin/python3
"""Verifies a Matrix policy server's /sign answer the way homeservers do, with Debian's python3-signedjson.

stdin: {"event": <PDU as sent>, "room_version": "10", "server_name": "...", "public_key": "<unpadded b64>",
        "response": <the /sign answer: {server_name: {"ed25519:policy_server": sig}}>}
Redacts the event by the spec's rules (written here independently of the gateway), adds the answered signatures and
calls signedjson.sign.verify_signed_json. Prints "ok" and exits 0, or prints the error and exits 1.
"""
import json
import sys

from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, verify_signed_json
from unpaddedbase64 import decode_base64


def redact(event, version):
    v = int(version)
    keep = {"event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth",
            "prev_events", "auth_events", "origin_server_ts"}
    if v < 11:
        keep |= {"origin", "membership", "prev_state"}
    out = {k: val for k, val in event.items() if k in keep}
    content = event.get("content", {})
    etype = event.get("type")
    kept = []
    if etype == "m.room.member":
        kept = ["membership"] + (["join_authorised_via_users_server"] if v >= 9 else [])
    elif etype == "m.room.create":
        kept = list(content.keys()) if v >= 11 else ["creator"]
    elif etype == "m.room.join_rules":
        kept = ["join_rule"] + (["allow"] if v >= 8 else [])
    elif etype == "m.room.power_levels":
        kept = ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"]
        if v >= 11:
            kept.append("invite")
    elif etype == "m.room.history_visibility":
        kept = ["history_visibility"]
    elif etype == "m.room.redaction" and v >= 11:
        kept = ["redacts"]
    out["content"] = {k: content[k] for k in kept if k in content}
    if etype == "m.room.member" and v >= 11 and isinstance(content.get("third_party_invite"), dict) \
            and "signed" in content["third_party_invite"]:
        out["content"]["third_party_invite"] = {"signed": content["third_party_invite"]["signed"]}
    return out


def main():
    data = json.load(sys.stdin)
    signed = redact(data["event"], data["room_version"])
    signed["signatures"] = data["response"]
    key = decode_verify_key_bytes("ed25519:policy_server", decode_base64(data["public_key"]))
    try:
        verify_signed_json(signed, data["server_name"], key)
    except SignatureVerifyException as e:
        print("invalid: %s" % e)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
