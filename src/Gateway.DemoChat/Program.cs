using Gateway.DemoChat;

var url = args.Length > 0 ? args[0] : "http://127.0.0.1:8081";
var app = DemoChatApp.Build(url);
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"demo chat backend listening on {url}"));
await app.RunAsync();
