using System.Diagnostics;
using System.Globalization;
using Gateway.Policy.Context;

// Fills the conversation context store with N direct conversations x 10 messages of 200 ASCII bytes, then prints
// what it costs in memory and time. Usage: dotnet run -c Release --project loadtests/ContextMemory -- [N]
const int MessagesPerConversation = 10;
const int MessageBytes = 200;
const int TimedOperations = 1_000_000;
const int WarmUp = 200_000;

var conversations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
var rawBytes = (long)conversations * MessagesPerConversation * MessageBytes;

// Ten different 200-character ASCII texts, so messages are not all the same string.
var texts = new string[MessagesPerConversation];
for (var m = 0; m < texts.Length; m++)
{
    texts[m] = string.Create(MessageBytes, m, static (span, seed) =>
    {
        for (var c = 0; c < span.Length; c++)
        {
            span[c] = (char)('a' + ((c * 7) + seed) % 26);
        }
    });
}

var options = new ConversationStoreOptions
{
    MessagesPerConversation = MessagesPerConversation,
    MaxTotalBytes = 64L * 1024 * 1024 * 1024,
    IdleExpiry = TimeSpan.FromHours(1),
};
using var store = new ConversationStore(options, TimeProvider.System);
var baseline = GC.GetTotalMemory(forceFullCollection: true);

var fill = Stopwatch.StartNew();
for (var i = 0; i < conversations; i++)
{
    var (user, peer) = Participants(i);
    var key = ConversationKey.Direct("demo", user, peer);
    for (var m = 0; m < MessagesPerConversation; m++)
    {
        store.Append(key, m % 2 == 0 ? user : peer, texts[m]);
    }
}

fill.Stop();

var heap = GC.GetTotalMemory(forceFullCollection: true) - baseline;
var workingSetAfterFullGc = Environment.WorkingSet;
// A full blocking GC keeps the segments it freed committed for reuse; an aggressive one compacts and decommits them,
// which is what a host under memory pressure gets.
GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
var workingSet = Environment.WorkingSet;
var perConversation = (double)heap / conversations;
var goalBytes = (1.25 * rawBytes) + (256.0 * conversations);

Console.WriteLine($"conversations: {conversations:N0} x {MessagesPerConversation} messages x {MessageBytes} B ASCII; raw text {rawBytes:N0} B");
Console.WriteLine($"store: Conversations={store.Conversations:N0} Bytes={store.Bytes:N0}");
Console.WriteLine($"managed heap (GC.GetTotalMemory(true), minus {baseline:N0} B baseline): {heap:N0} B = {heap / 1e9:F3} GB");
Console.WriteLine($"process working set: {workingSetAfterFullGc:N0} B after the full GC, {workingSet:N0} B = {workingSet / 1e9:F3} GB after an aggressive GC");
Console.WriteLine($"bytes per conversation: {perConversation:F1} (raw text {MessagesPerConversation * MessageBytes}, overhead {perConversation - (MessagesPerConversation * MessageBytes):F1})");
Console.WriteLine($"ratio to raw text: heap {(double)heap / rawBytes:F3}, working set {(double)workingSet / rawBytes:F3}");
Console.WriteLine($"goal 1.25 x raw + 256 B/conversation = {goalBytes:N0} B: heap {(heap <= goalBytes ? "within" : "OVER")}, working set {(workingSet <= goalBytes ? "within" : "OVER")}");
Console.WriteLine($"fill: {fill.Elapsed.TotalNanoseconds / ((double)conversations * MessagesPerConversation):F0} ns/append (creation and ring growth included)");

// Timed phases walk the conversations in a scattered order, as real traffic would, with keys built beforehand.
var keys = new ConversationKey[conversations];
var senders = new string[conversations];
for (var i = 0; i < conversations; i++)
{
    var (user, peer) = Participants(i);
    keys[i] = ConversationKey.Direct("demo", user, peer);
    senders[i] = user;
}

// Each operation is timed twice: across all conversations in scattered order (every lookup misses the CPU caches,
// as with real traffic over a million conversations) and over a hot set of 100 conversations that stays in cache.
const int HotSet = 100;
var operations = Math.Max(TimedOperations, conversations);
var messages = 0L;
var found = 0L;
foreach (var (name, set) in new[] { ("all conversations, scattered", conversations), ($"hot set of {HotSet}", Math.Min(HotSet, conversations)) })
{
    Console.WriteLine($"{name}: append (ring full, oldest overwritten) {Time(operations, set, i => store.Append(keys[i], senders[i], texts[i % MessagesPerConversation])):F0} ns/op, "
        + $"snapshot (10 messages decoded) {Time(operations, set, i => messages += store.Snapshot(keys[i]).Count):F0} ns/op, "
        + $"contains (sender check) {Time(operations, set, i => found += store.Contains(keys[i], senders[i]) ? 1 : 0):F0} ns/op, "
        + $"{operations:N0} ops each");
}

var expected = 2L * (operations + WarmUp);
if (messages != expected * MessagesPerConversation || found != expected)
{
    Console.WriteLine($"UNEXPECTED: {messages:N0} messages, {found:N0} senders found");
    return 1;
}

return 0;

static (string User, string Peer) Participants(int i) =>
    (string.Create(CultureInfo.InvariantCulture, $"user{i:D7}"), string.Create(CultureInfo.InvariantCulture, $"peer{i:D7}"));

static double Time(int count, int set, Action<int> operation)
{
    // Multiplying by a prime that does not divide the set size visits every conversation of the set, scattered.
    const long Stride = 7_919;

    // Warm up first, so the JIT has moved the code to its optimised tier before the clock starts.
    for (var n = 0; n < WarmUp; n++)
    {
        operation((int)(n * Stride % set));
    }

    Thread.Sleep(500);
    var stopwatch = Stopwatch.StartNew();
    for (var n = 0; n < count; n++)
    {
        operation((int)(n * Stride % set));
    }

    stopwatch.Stop();
    return stopwatch.Elapsed.TotalNanoseconds / count;
}
