#!/usr/bin/env node
// Drive matrix-js-sdk (36.2.0, the last release for Node 20) against a homeserver, or the gateway in front of one.
//
//   node client.mjs --homeserver URL --user USER (--password PW | --token TOKEN) --room ROOM_ID
//                   [--token-style header|query] STEP [STEP ...]
//
// Same steps and JSON lines as ../nio_client.py:
//   whoami | join | send TEXT | send-html TEXT HTML | edit EVENT_ID|- TEXT | edit-html EVENT_ID|- TEXT HTML
//   displayname NAME | messages N
// The SDK's sync loop is never started: every step is one SDK call (loginRequest, whoami, joinRoom, sendEvent,
// setDisplayName, createMessagesRequest). --token-style query sets useAuthorizationHeader=false, so the SDK sends
// ?access_token= instead of "Authorization: Bearer" (its default). Exit code 1 on a Matrix error, 2 on bad arguments.

// The SDK logs through loglevel, which binds console methods when a logger is created: point them at stderr
// before the SDK is loaded, so stdout carries only our JSON lines.
const toStderr = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
console.log = console.info = console.debug = console.trace = console.warn = toStderr;
const sdk = await import("matrix-js-sdk");
const { logger } = await import("matrix-js-sdk/lib/logger.js");
logger.setLevel("warn");

const ARITY = { whoami: 0, join: 0, send: 1, "send-html": 2, edit: 2, "edit-html": 3, displayname: 1, messages: 1 };

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function parseArgs(argv) {
  const opts = { tokenStyle: "header" };
  const steps = [];
  const flags = { "--homeserver": "homeserver", "--user": "user", "--password": "password", "--token": "token",
    "--device": "device", "--room": "room", "--token-style": "tokenStyle" };
  let i = 0;
  while (i < argv.length && argv[i].startsWith("--")) {
    const key = flags[argv[i]];
    if (!key || i + 1 >= argv.length) {
      throw new Error(`bad option ${argv[i]}`);
    }
    opts[key] = argv[i + 1];
    i += 2;
  }
  while (i < argv.length) {
    const name = argv[i];
    if (!(name in ARITY)) {
      throw new Error(`unknown step ${name}; steps: ${Object.keys(ARITY).join(", ")}`);
    }
    const args = argv.slice(i + 1, i + 1 + ARITY[name]);
    if (args.length !== ARITY[name]) {
      throw new Error(`step ${name} takes ${ARITY[name]} argument(s)`);
    }
    steps.push([name, args]);
    i += 1 + ARITY[name];
  }
  if (!opts.homeserver || !opts.user || (!opts.password && !opts.token)) {
    throw new Error("--homeserver, --user and one of --password/--token are required");
  }
  if (opts.tokenStyle !== "header" && opts.tokenStyle !== "query") {
    throw new Error("--token-style is header or query");
  }
  return { opts, steps };
}

function textContent(text, html) {
  const content = { msgtype: "m.text", body: text };
  if (html !== undefined) {
    content.format = "org.matrix.custom.html";
    content.formatted_body = html;
  }
  return content;
}

function editContent(target, text, html) {
  // Spec "Event replacements": fallback body prefixed with "* ", the replacement in m.new_content.
  return {
    ...textContent("* " + text, html === undefined ? undefined : "* " + html),
    "m.new_content": textContent(text, html),
    "m.relates_to": { rel_type: "m.replace", event_id: target },
  };
}

class StepFailed extends Error {}

async function step(name, promise) {
  try {
    return await promise;
  } catch (err) {
    const error = {
      status: err.httpStatus ?? null,
      errcode: err.errcode ?? null,
      error: err.data?.error ?? String(err.message ?? err),
    };
    emit({ step: name, error });
    process.stderr.write(`${name} failed: ${error.status} ${error.errcode} ${error.error}\n`);
    throw new StepFailed();
  }
}

async function run(opts, steps) {
  const common = { baseUrl: opts.homeserver, useAuthorizationHeader: opts.tokenStyle === "header" };
  let accessToken = opts.token;
  let userId;
  let deviceId = opts.device;
  if (!accessToken) {
    const anonymous = sdk.createClient(common);
    const login = await step("login", anonymous.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: opts.user },
      password: opts.password,
      initial_device_display_name: "gateway-tests js-sdk",
      ...(deviceId ? { device_id: deviceId } : {}),
    }));
    accessToken = login.access_token;
    userId = login.user_id;
    deviceId = login.device_id;
    emit({ step: "login", user_id: userId, device_id: deviceId, access_token: accessToken });
  }

  const client = sdk.createClient({ ...common, accessToken, userId, deviceId });
  if (!userId) {
    const who = await step("whoami", client.whoami());
    userId = who.user_id;
    deviceId = who.device_id;
    client.credentials.userId = userId;
    client.deviceId = deviceId;
  }

  let lastEvent = null;
  for (const [name, args] of steps) {
    switch (name) {
      case "whoami": {
        const who = await step(name, client.whoami());
        emit({ step: name, user_id: who.user_id, device_id: who.device_id });
        break;
      }
      case "join": {
        const room = await step(name, client.joinRoom(opts.room));
        emit({ step: name, room_id: room.roomId });
        break;
      }
      case "send":
      case "send-html": {
        const res = await step(name, client.sendEvent(opts.room, "m.room.message", textContent(...args)));
        lastEvent = res.event_id;
        emit({ step: name, event_id: res.event_id });
        break;
      }
      case "edit":
      case "edit-html": {
        const target = args[0] === "-" ? lastEvent : args[0];
        const res = await step(name, client.sendEvent(opts.room, "m.room.message", editContent(target, ...args.slice(1))));
        lastEvent = res.event_id;
        emit({ step: name, event_id: res.event_id });
        break;
      }
      case "displayname": {
        await step(name, client.setDisplayName(args[0]));
        emit({ step: name, displayname: args[0] });
        break;
      }
      case "messages": {
        const page = await step(name, client.createMessagesRequest(opts.room, null, Number(args[0]), sdk.Direction.Backward));
        const chunk = page.chunk ?? [];
        for (const ev of [...chunk].reverse()) {
          emit({ step: "message", event_id: ev.event_id, sender: ev.sender, type: ev.type, content: ev.content });
        }
        emit({ step: name, count: chunk.length });
        break;
      }
    }
  }
  client.stopClient();
}

let parsed;
try {
  parsed = parseArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}

try {
  await run(parsed.opts, parsed.steps);
  process.exit(0);
} catch (err) {
  if (!(err instanceof StepFailed)) {
    process.stderr.write(`${err.stack ?? err}\n`);
  }
  process.exit(1);
}
