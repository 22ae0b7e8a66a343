// Drives lemmy-js-client 0.19.9 (the library lemmy-ui and most apps use) against a Lemmy API base URL: the gateway
// in front of a Lemmy backend in the tests. One JSON object per step on stdout; a failing step prints
// {"step":…,"error":<the Error's message>} (lemmy-js-client throws new Error(json.error)) and exits 1.
//
//   node client.mjs --api http://127.0.0.1:8080 --user alice --password pw [--auth header|cookie] STEP…
// Steps: login | post COMMUNITY_ID NAME BODY | edit-post POST_ID BODY | comment POST_ID TEXT
//        | edit-comment COMMENT_ID TEXT | pm RECIPIENT_ID TEXT | settings DISPLAY_NAME BIO
import { LemmyHttp } from "lemmy-js-client";

const args = process.argv.slice(2);
const opts = {};
while (args.length && args[0].startsWith("--")) {
  opts[args.shift().slice(2)] = args.shift();
}

const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
let client = new LemmyHttp(opts.api);

const steps = {
  login: [0, async () => {
    const res = await client.login({ username_or_email: opts.user, password: opts.password });
    // lemmy-ui keeps the jwt in a cookie; apps send Authorization: Bearer. Both are what 0.19 reads.
    const headers = opts.auth === "cookie" ? { Cookie: `jwt=${res.jwt}` } : { Authorization: `Bearer ${res.jwt}` };
    client = new LemmyHttp(opts.api, { headers });
    return { jwt: Boolean(res.jwt) };
  }],
  post: [3, async (community, name, body) => {
    const res = await client.createPost({ community_id: Number(community), name, body });
    return { id: res.post_view.post.id, name: res.post_view.post.name, body: res.post_view.post.body };
  }],
  "edit-post": [2, async (id, body) => {
    const res = await client.editPost({ post_id: Number(id), body });
    return { id: res.post_view.post.id, body: res.post_view.post.body };
  }],
  comment: [2, async (post, content) => {
    const res = await client.createComment({ post_id: Number(post), content });
    return { id: res.comment_view.comment.id, content: res.comment_view.comment.content, path: res.comment_view.comment.path };
  }],
  "edit-comment": [2, async (id, content) => {
    const res = await client.editComment({ comment_id: Number(id), content });
    return { id: res.comment_view.comment.id, content: res.comment_view.comment.content };
  }],
  pm: [2, async (recipient, content) => {
    const res = await client.createPrivateMessage({ recipient_id: Number(recipient), content });
    const v = res.private_message_view;
    return { id: v.private_message.id, content: v.private_message.content, recipient: v.recipient.name };
  }],
  settings: [2, async (display_name, bio) => {
    const res = await client.saveUserSettings({ display_name, bio });
    return { success: res.success };
  }],
};

while (args.length) {
  const name = args.shift();
  const step = steps[name];
  if (!step) {
    out({ step: name, error: "unknown step" });
    process.exit(2);
  }
  const params = args.splice(0, step[0]);
  try {
    out({ step: name, ...(await step[1](...params)) });
  } catch (e) {
    out({ step: name, error: e instanceof Error ? e.message : String(e) });
    process.stderr.write(`${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
