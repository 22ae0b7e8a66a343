using Gateway.Policy.Context;

namespace Gateway.Policy.Tests.Context;

public sealed class ConversationKeyTests
{
    [Theory]
    [InlineData("@alice:example.org", "@bob:example.org")]
    [InlineData("b", "a")]
    [InlineData("same", "same")]
    [InlineData("", "x")]
    public void Direct_EitherOrder_SameKey(string a, string b)
    {
        Assert.Equal(ConversationKey.Direct("matrix", a, b), ConversationKey.Direct("matrix", b, a));
    }

    [Theory]
    // Each pair of keys would be equal if the parts were only joined with a separator.
    [InlineData("d", "p", "ab", "c", "d", "p", "a", "bc")]
    [InlineData("d", "p", "a|b", "c", "d", "p", "a", "b|c")]
    [InlineData("d", "pa", "b", "c", "d", "p", "ab", "c")]
    [InlineData("d", "p", "a", "b", "r", "p", "a", "b")]
    [InlineData("d", "matrix", "a", "b", "d", "sogs", "a", "b")]
    public void Key_DifferentConversations_DifferentKeys(
        string kind1, string protocol1, string part1, string other1,
        string kind2, string protocol2, string part2, string other2)
    {
        Assert.NotEqual(Make(kind1, protocol1, part1, other1), Make(kind2, protocol2, part2, other2));
    }

    [Fact]
    public void Room_SameRoom_SameKey()
    {
        Assert.Equal(ConversationKey.Room("matrix", "!abc:example.org"), ConversationKey.Room("matrix", "!abc:example.org"));
        Assert.NotEqual(ConversationKey.Room("matrix", "!abc:example.org"), ConversationKey.Room("matrix", "!abd:example.org"));
    }

    private static ConversationKey Make(string kind, string protocol, string part, string other) =>
        kind == "d" ? ConversationKey.Direct(protocol, part, other) : ConversationKey.Room(protocol, part + other);
}
