#!/usr/bin/python3
"""Drive matrix-nio (Debian's python3-matrix-nio) against a homeserver, or the gateway in front of one.

Run with the system interpreter (/usr/bin/python3): pyenv's python does not see Debian's dist-packages.

    nio_client.py --homeserver URL --user USER (--password PW | --token TOKEN) --room ROOM_ID STEP [STEP ...]

Steps run in order in one process; each prints JSON lines on stdout:
    whoami                       {"step":"whoami","user_id":…,"device_id":…}
    join                         {"step":"join","room_id":…}
    send TEXT                    {"step":"send","event_id":…}             m.text
    send-html TEXT HTML          {"step":"send-html","event_id":…}        m.text with org.matrix.custom.html
    edit EVENT_ID|- TEXT         {"step":"edit","event_id":…}             m.replace; "-" = the last event sent here
    edit-html EVENT_ID|- TEXT HTML
    displayname NAME             {"step":"displayname","displayname":…}
    messages N                   {"step":"message","event_id":…,"sender":…,"type":…,"content":{…}} per event,
                                 oldest first, then {"step":"messages","count":n}
With --password the client logs in first ({"step":"login","user_id":…,"device_id":…,"access_token":…}).
On a Matrix error the failing step prints {"step":…,"error":{"status":…,"errcode":…,"error":…}}, the same
error goes to stderr, and the exit code is 1 (2 for bad arguments).

matrix-nio 0.20 sends the access token as the ?access_token= query parameter and uses /_matrix/client/r0/ paths.
"""

import argparse
import asyncio
import json
import sys

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    JoinResponse,
    LoginResponse,
    ProfileSetDisplayNameResponse,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
)
from nio.responses import WhoamiResponse  # not re-exported by nio/__init__ in 0.20

ARITY = {"whoami": 0, "join": 0, "send": 1, "send-html": 2, "edit": 2, "edit-html": 3, "displayname": 1, "messages": 1}


class StepFailed(Exception):
    pass


def emit(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def check(step, response, expected):
    if isinstance(response, expected):
        return response
    status = None
    transport = getattr(response, "transport_response", None)
    if transport is not None:
        status = getattr(transport, "status", None)
    if isinstance(response, ErrorResponse):
        error = {"status": status, "errcode": response.status_code, "error": response.message}
    else:
        error = {"status": status, "errcode": None, "error": repr(response)}
    emit({"step": step, "error": error})
    sys.stderr.write(f"{step} failed: {status} {error['errcode']} {error['error']}\n")
    raise StepFailed()


async def whoami_device(who):
    # nio 0.20's WhoamiResponse keeps only user_id; the device_id (spec v1.1+) is still in the raw body.
    try:
        return (await who.transport_response.json()).get("device_id")
    except Exception:  # noqa: BLE001 - the body is informational only
        return None


def parse_steps(words):
    steps = []
    i = 0
    while i < len(words):
        name = words[i]
        if name not in ARITY:
            raise SystemExit(f"unknown step {name!r}; steps: {', '.join(ARITY)}")
        args = words[i + 1 : i + 1 + ARITY[name]]
        if len(args) != ARITY[name]:
            raise SystemExit(f"step {name} takes {ARITY[name]} argument(s)")
        steps.append((name, args))
        i += 1 + ARITY[name]
    return steps


def text_content(text, html=None):
    content = {"msgtype": "m.text", "body": text}
    if html is not None:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = html
    return content


def edit_content(target, text, html=None):
    # Spec "Event replacements": the fallback body is prefixed with "* ", the new content sits in m.new_content.
    content = text_content("* " + text, None if html is None else "* " + html)
    content["m.new_content"] = text_content(text, html)
    content["m.relates_to"] = {"rel_type": "m.replace", "event_id": target}
    return content


async def run(opts, steps):
    config = AsyncClientConfig(
        encryption_enabled=False, store_sync_tokens=False, max_timeouts=2, max_limit_exceeded=2, request_timeout=20
    )
    client = AsyncClient(opts.homeserver, opts.user, device_id=opts.device or "", config=config)
    try:
        if opts.token:
            client.access_token = opts.token
            who = check("whoami", await client.whoami(), WhoamiResponse)
            client.user_id = who.user_id
            client.device_id = await whoami_device(who)
        else:
            login = check("login", await client.login(opts.password, device_name="gateway-tests nio"), LoginResponse)
            emit({"step": "login", "user_id": login.user_id, "device_id": login.device_id, "access_token": login.access_token})

        last_event = None
        for name, args in steps:
            if name == "whoami":
                who = check(name, await client.whoami(), WhoamiResponse)
                emit({"step": name, "user_id": who.user_id, "device_id": await whoami_device(who)})
            elif name == "join":
                joined = check(name, await client.join(opts.room), JoinResponse)
                emit({"step": name, "room_id": joined.room_id})
            elif name in ("send", "send-html"):
                content = text_content(*args)
                sent = check(name, await client.room_send(opts.room, "m.room.message", content), RoomSendResponse)
                last_event = sent.event_id
                emit({"step": name, "event_id": sent.event_id})
            elif name in ("edit", "edit-html"):
                target = last_event if args[0] == "-" else args[0]
                content = edit_content(target, *args[1:])
                sent = check(name, await client.room_send(opts.room, "m.room.message", content), RoomSendResponse)
                last_event = sent.event_id
                emit({"step": name, "event_id": sent.event_id})
            elif name == "displayname":
                check(name, await client.set_displayname(args[0]), ProfileSetDisplayNameResponse)
                emit({"step": name, "displayname": args[0]})
            elif name == "messages":
                # nio's room_messages needs a start token: take it from a minimal sync, as nio's own docs do.
                sync = check(
                    "sync", await client.sync(timeout=0, sync_filter={"room": {"timeline": {"limit": 1}}}), SyncResponse
                )
                page = check(
                    name,
                    await client.room_messages(opts.room, start=sync.next_batch, limit=int(args[0])),
                    RoomMessagesResponse,
                )
                events = [event.source for event in page.chunk]
                for source in reversed(events):
                    emit(
                        {
                            "step": "message",
                            "event_id": source.get("event_id"),
                            "sender": source.get("sender"),
                            "type": source.get("type"),
                            "content": source.get("content"),
                        }
                    )
                emit({"step": name, "count": len(events)})
        return 0
    except StepFailed:
        return 1
    finally:
        await client.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--user", required=True, help="localpart or full user id")
    parser.add_argument("--password")
    parser.add_argument("--token", help="use this access token instead of logging in")
    parser.add_argument("--device", help="device id to log in with")
    parser.add_argument("--room", default="", help="room id the room steps act on")
    parser.add_argument("steps", nargs=argparse.REMAINDER)
    opts = parser.parse_args()
    if not opts.password and not opts.token:
        parser.error("one of --password or --token is required")
    try:
        steps = parse_steps(opts.steps)
    except SystemExit as e:
        sys.stderr.write(f"{e}\n")
        return 2
    return asyncio.run(run(opts, steps))


if __name__ == "__main__":
    sys.exit(main())
