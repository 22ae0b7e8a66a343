using System.Text;
using Gateway.Policy.Context;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Policy.Tests.Context;

public sealed class ConversationStoreTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly ConversationKey AliceBob = ConversationKey.Direct("demo", "alice", "bob");
    private static readonly TimeSpan Eventually = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 5)]
    [InlineData(3, 2)]
    [InlineData(3, 3)]
    [InlineData(3, 10)]
    [InlineData(10, 10)]
    [InlineData(10, 25)]
    public void Append_ManyMessages_KeepsLastNOldestFirst(int perConversation, int appended)
    {
        using var store = NewStore(new ConversationStoreOptions { MessagesPerConversation = perConversation });
        for (var i = 0; i < appended; i++)
        {
            store.Append(AliceBob, i % 2 == 0 ? "alice" : "bob", $"message {i}");
        }

        var kept = store.Snapshot(AliceBob);

        var expected = Enumerable.Range(0, appended).Skip(Math.Max(0, appended - perConversation)).Select(i => $"message {i}");
        Assert.Equal(expected, kept.Select(m => m.Text));
        Assert.All(kept, m => Assert.Equal(int.Parse(m.Text[8..], System.Globalization.CultureInfo.InvariantCulture) % 2 == 0 ? "alice" : "bob", m.Sender));
    }

    [Fact]
    public void Append_BothDirections_ShareOneBuffer()
    {
        using var store = NewStore();

        store.Append(ConversationKey.Direct("demo", "alice", "bob"), "alice", "hi bob");
        store.Append(ConversationKey.Direct("demo", "bob", "alice"), "bob", "hi alice");

        Assert.Equal(["hi bob", "hi alice"], store.Snapshot(ConversationKey.Direct("demo", "bob", "alice")).Select(m => m.Text));
        Assert.Equal(1, store.Conversations);
    }

    [Fact]
    public void Append_RecordsTimeFromTimeProvider()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new ConversationStore(new ConversationStoreOptions(), time);

        store.Append(AliceBob, "alice", "one");
        time.Advance(TimeSpan.FromSeconds(90));
        store.Append(AliceBob, "bob", "two");

        Assert.Equal([Start, Start.AddSeconds(90)], store.Snapshot(AliceBob).Select(m => m.Time));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain ascii")]
    [InlineData("emoji 😀👍🏽 family 👨‍👩‍👧")]
    [InlineData("中文字符和日本語のテキスト")]
    [InlineData("한국어 Ελληνικά Кириллица עברית العربية")]
    [InlineData("zalgo z̷̢a̴l̸g̵o combining")]
    [InlineData("\u200Bzero\u200Dwidth\uFEFF and bidi \u202Eevil")]
    [InlineData("line\nbreaks\r\nand\ttabs\0nul")]
    public void Append_Unicode_RoundTripsExactly(string text)
    {
        using var store = NewStore();

        store.Append(AliceBob, "alice", text);

        Assert.Equal(text, Assert.Single(store.Snapshot(AliceBob)).Text);
    }

    [Theory]
    // MaxMessageBytes = 16: the cut never splits a code point, so the kept text is valid and a prefix.
    [InlineData("0123456789abcdefXYZ", "0123456789abcdef")]
    [InlineData("0123456789abcde😀", "0123456789abcde")]
    [InlineData("0123456789ab😀", "0123456789ab😀")]
    [InlineData("0123456789abc😀", "0123456789abc")]
    [InlineData("中文字符和日本語", "中文字符和")]
    [InlineData("a中文字符和日本語", "a中文字符和")]
    [InlineData("ab中文字符和日本語", "ab中文字符")]
    [InlineData("abc中文字符和日本語", "abc中文字符")]
    [InlineData("éééééééééé", "éééééééé")]
    public void Append_LongerThanMax_CutAtCodePointBoundary(string text, string kept)
    {
        using var store = NewStore(new ConversationStoreOptions { MaxMessageBytes = 16 });

        store.Append(AliceBob, "alice", text);

        var stored = Assert.Single(store.Snapshot(AliceBob)).Text;
        Assert.Equal(kept, stored);
        Assert.True(Encoding.UTF8.GetByteCount(stored) <= 16);
    }

    [Fact]
    public void Append_LoneSurrogate_StoredAsReplacementCharacter()
    {
        using var store = NewStore();

        store.Append(AliceBob, "alice", "a\uD83Db");

        Assert.Equal("a\uFFFDb", Assert.Single(store.Snapshot(AliceBob)).Text);
    }

    [Fact]
    public void Append_VariedSizesAcrossWrap_MatchesModel()
    {
        // Records of random sizes and scripts wrap around the end of the array and split there; growth interleaves.
        var random = new Random(20250301);
        string[] alphabet = ["a", "é", "中", "😀", " ", "Ж"];
        using var store = NewStore(new ConversationStoreOptions { MessagesPerConversation = 7, MaxMessageBytes = 600 });
        var model = new Queue<(string Sender, string Text)>();
        for (var i = 0; i < 2000; i++)
        {
            var length = random.Next(0, i % 50 == 0 ? 150 : 40);
            var builder = new StringBuilder();
            for (var c = 0; c < length; c++)
            {
                builder.Append(alphabet[random.Next(alphabet.Length)]);
            }

            var sender = $"user{random.Next(5)}";
            var text = builder.ToString();
            store.Append(AliceBob, sender, text);
            model.Enqueue((sender, text));
            if (model.Count > 7)
            {
                model.Dequeue();
            }

            Assert.Equal(model, store.Snapshot(AliceBob).Select(m => (m.Sender, m.Text)));
        }
    }

    [Fact]
    public void Append_SenderLongerThan255Bytes_CutAndStillFound()
    {
        using var store = NewStore();
        var sender = new string('s', 300);

        store.Append(AliceBob, sender, "hello");

        Assert.Equal(new string('s', 255), Assert.Single(store.Snapshot(AliceBob)).Sender);
        Assert.True(store.Contains(AliceBob, sender));
    }

    [Fact]
    public void Contains_SenderInBuffer_True_OtherwiseFalse()
    {
        using var store = NewStore(new ConversationStoreOptions { MessagesPerConversation = 2 });
        store.Append(AliceBob, "alice", "one");
        store.Append(AliceBob, "bob", "two");

        Assert.True(store.Contains(AliceBob, "alice"));
        Assert.True(store.Contains(AliceBob, "bob"));
        Assert.False(store.Contains(AliceBob, "mallory"));
        Assert.False(store.Contains(AliceBob, "alic"));
        Assert.False(store.Contains(ConversationKey.Direct("demo", "alice", "carol"), "alice"));

        store.Append(AliceBob, "bob", "three");

        Assert.False(store.Contains(AliceBob, "alice"));
    }

    [Fact]
    public void Snapshot_UnknownConversation_Empty()
    {
        using var store = NewStore();

        Assert.Empty(store.Snapshot(AliceBob));
    }

    [Fact]
    public void Snapshot_IdleLongerThanExpiry_EmptyAndWiped()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new ConversationStore(new ConversationStoreOptions { IdleExpiry = TimeSpan.FromHours(1) }, time);
        store.Append(AliceBob, "alice", "secret");
        var ring = store.RingForTests(AliceBob)!;
        var buffer = ring.BufferForTests;

        time.Advance(TimeSpan.FromMinutes(61));

        Assert.Empty(store.Snapshot(AliceBob));
        Assert.Equal(0, store.Conversations);
        Assert.True(SpinWait.SpinUntil(() => ring.IsDead, Eventually));
        Assert.All(buffer, b => Assert.Equal(0, b));
        Assert.Equal(0, store.Bytes);
    }

    [Fact]
    public void Append_WithinExpiry_KeepsConversationAlive()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new ConversationStore(new ConversationStoreOptions { IdleExpiry = TimeSpan.FromHours(1) }, time);
        store.Append(AliceBob, "alice", "one");

        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromMinutes(50));
            store.Append(AliceBob, "bob", $"reply {i}");
        }

        time.Advance(TimeSpan.FromMinutes(50));

        Assert.Equal(6, store.Snapshot(AliceBob).Count);
    }

    [Fact]
    public void Append_BeyondSizeLimit_EvictsConversationsAndStaysUnderLimit()
    {
        const long limit = 64 * 1024;
        // Compaction drops the least recently used first: the clock must move for "least recently" to mean anything.
        var time = new FakeTimeProvider(Start) { AutoAdvanceAmount = TimeSpan.FromMilliseconds(1) };
        using var store = new ConversationStore(new ConversationStoreOptions { MaxTotalBytes = limit }, time);
        var first = ConversationKey.Direct("demo", "first", "other");
        store.Append(first, "first", "the first conversation");
        var firstRing = store.RingForTests(first)!;
        var firstBuffer = firstRing.BufferForTests;
        var text = new string('x', 200);

        for (var i = 0; i < 2000; i++)
        {
            var key = ConversationKey.Direct("demo", $"user{i}", "other");
            for (var m = 0; m < 10; m++)
            {
                store.Append(key, "other", text);
            }
        }

        // Compaction and eviction callbacks run on the thread pool.
        // Eviction happened: of 2,001 conversations a few dozen remain. A conversation of ten 200-character messages
        // costs ~1.9 KB in its ring (33 fit under 64 KB in one run), so the bound is 1 KB each, not the 2 KB of text;
        // the count follows the eviction callbacks, so it is awaited too.
        Assert.True(SpinWait.SpinUntil(() => store.Bytes <= limit && store.Conversations <= limit / 1024, Eventually), $"{store.Bytes} bytes, {store.Conversations} conversations");
        Assert.InRange(store.Conversations, 1, limit / 1024);
        Assert.True(SpinWait.SpinUntil(() => firstRing.IsDead, Eventually));
        Assert.All(firstBuffer, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Append_ParallelSameAndDifferentConversations_CountsRight()
    {
        const int threads = 8;
        const int perThread = 5000;
        using var store = NewStore(new ConversationStoreOptions { MessagesPerConversation = 10 });
        var shared = ConversationKey.Room("demo", "lobby");

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            for (var i = 0; i < perThread; i++)
            {
                store.Append(shared, $"t{t}", $"{i}");
                store.Append(ConversationKey.Direct("demo", $"t{t}", $"peer{i % 50}"), $"t{t}", $"{i} {new string('m', i % 300)}");
            }
        });

        Assert.Equal(1 + (threads * 50), store.Conversations);
        var lobby = store.Snapshot(shared);
        Assert.Equal(10, lobby.Count);
        // Each thread's messages stay in its own order.
        foreach (var group in lobby.GroupBy(m => m.Sender))
        {
            var numbers = group.Select(m => int.Parse(m.Text, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(numbers.Order(), numbers);
        }

        for (var t = 0; t < threads; t++)
        {
            var direct = store.Snapshot(ConversationKey.Direct("demo", $"peer{7}", $"t{t}"));
            Assert.Equal(10, direct.Count);
            Assert.Equal(perThread - 50 + 7, int.Parse(direct[^1].Text.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.True(store.Bytes > 0);
    }

    [Fact]
    public void Append_ParallelWithGrowthUnderTinyLimit_NoExceptionsAndConsistentBytes()
    {
        // Growth re-sets entries while compaction evicts them: the accounting must come back to what is live.
        using var store = NewStore(new ConversationStoreOptions { MaxTotalBytes = 32 * 1024 });
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                store.Append(ConversationKey.Room("demo", $"room{i % 97}"), $"t{t}", new string('z', i % 700));
            }
        });

        Assert.True(SpinWait.SpinUntil(() => store.Bytes <= 32 * 1024, Eventually), $"{store.Bytes} bytes");
        store.Clear();
        Assert.True(SpinWait.SpinUntil(() => store.Bytes == 0, Eventually), $"{store.Bytes} bytes");
    }

    [Fact]
    public void Append_AfterParallelGrowthAndEviction_StillKeepsConversations()
    {
        // Microsoft.Extensions.Caching.Memory before 10.0.15 (dotnet/runtime#129186) subtracted a replaced entry's size
        // before the swap, so compaction removing that entry meanwhile subtracted it twice: the cache's size drifted
        // below zero, and from then on it refused every set. DM context silently stopped being kept. A ring that grows
        // is set again while compaction evicts, as here. And a full cache refuses a new entry (compacting later, on the
        // thread pool): the store makes room at once, so the newest conversation is kept.
        using var store = NewStore(new ConversationStoreOptions { MaxTotalBytes = 32 * 1024 });
        for (var round = 0; round < 3; round++)
        {
            Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
            {
                for (var i = 0; i < 10_000; i++)
                {
                    store.Append(ConversationKey.Room("demo", $"room{(i * 7 + t) % 61}"), $"t{t}", new string('z', (i * 13) % 700));
                }
            });

            var probe = ConversationKey.Room("demo", $"probe{round}");
            store.Append(probe, "p", "kept");
            Assert.Equal("kept", Assert.Single(store.Snapshot(probe)).Text);
        }
    }

    [Fact]
    public void Clear_WithConversations_EmptiesAndWipes()
    {
        using var store = NewStore();
        store.Append(AliceBob, "alice", "secret");
        store.Append(ConversationKey.Room("demo", "lobby"), "carol", "also secret");
        var buffer = store.RingForTests(AliceBob)!.BufferForTests;

        store.Clear();

        Assert.Equal(0, store.Conversations);
        Assert.Equal(0, store.Bytes);
        Assert.Empty(store.Snapshot(AliceBob));
        Assert.All(buffer, b => Assert.Equal(0, b));
        store.Append(AliceBob, "bob", "after clear");
        Assert.Equal("after clear", Assert.Single(store.Snapshot(AliceBob)).Text);
    }

    [Fact]
    public void Ring_OverwrittenAndGrown_FreedBytesZeroed()
    {
        var limits = RingLimits.For(maxMessages: 2, maxMessageBytes: 64);
        var ring = new ConversationRing();
        ring.Append(limits, 1, "a"u8, "FIRST-MESSAGE"u8);
        var small = ring.BufferForTests;
        ring.Append(limits, 2, "b"u8, "SECOND-MESSAGE-LONGER"u8);
        ring.Append(limits, 3, "a"u8, "THIRD"u8);

        Assert.NotSame(small, ring.BufferForTests);
        Assert.All(small, b => Assert.Equal(0, b));
        Assert.Equal(-1, ring.BufferForTests.AsSpan().IndexOf("FIRST"u8));
        Assert.Equal(2, ring.Count);
    }

    [Fact]
    public void ToStringAndExceptions_NeverContainText()
    {
        const string secret = "TOP-SECRET-WORDS";
        using var store = NewStore();
        store.Append(AliceBob, "alice", secret);
        var message = Assert.Single(store.Snapshot(AliceBob));

        Assert.DoesNotContain(secret, message.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, store.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, store.RingForTests(AliceBob)!.ToString(), StringComparison.Ordinal);

        var defaultKey = Assert.Throws<ArgumentException>(() => store.Append(default, "alice", secret));
        Assert.DoesNotContain(secret, defaultKey.ToString(), StringComparison.Ordinal);
        var nullSender = Assert.Throws<ArgumentNullException>(() => store.Append(AliceBob, null!, secret));
        Assert.DoesNotContain(secret, nullSender.ToString(), StringComparison.Ordinal);

        store.Dispose();
        var disposed = Assert.Throws<ObjectDisposedException>(() => store.Append(AliceBob, "alice", secret));
        Assert.DoesNotContain(secret, disposed.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 4096, 1024, 60, "MessagesPerConversation")]
    [InlineData(1025, 4096, 1024, 60, "MessagesPerConversation")]
    [InlineData(10, 15, 1024, 60, "MaxMessageBytes")]
    [InlineData(10, 65536, 1024, 60, "MaxMessageBytes")]
    [InlineData(10, 4096, 0, 60, "MaxTotalBytes")]
    [InlineData(10, 4096, 1024, 0, "IdleExpiry")]
    public void Constructor_BadOptions_ThrowsNamingOption(int perConversation, int maxMessageBytes, long maxTotalBytes, int idleSeconds, string option)
    {
        var options = new ConversationStoreOptions
        {
            MessagesPerConversation = perConversation,
            MaxMessageBytes = maxMessageBytes,
            MaxTotalBytes = maxTotalBytes,
            IdleExpiry = TimeSpan.FromSeconds(idleSeconds),
        };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ConversationStore(options, TimeProvider.System));

        Assert.Equal(option, error.ParamName);
    }

    private static ConversationStore NewStore(ConversationStoreOptions? options = null) =>
        new(options ?? new ConversationStoreOptions(), new FakeTimeProvider(Start));
}
