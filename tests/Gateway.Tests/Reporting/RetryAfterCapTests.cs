using System.Net;
using System.Net.Http.Headers;
using Gateway.Configuration;
using Gateway.Reporting;

namespace Gateway.Tests.Reporting;

/// <summary>reports.max_retry_after_seconds: what a webhook receiver can ask the gateway to wait (issue 9, defect 10).</summary>
public sealed class RetryAfterCapTests
{
    private static ConfigLoadResult Load(string reports) =>
        ConfigLoader.Load("[reports]\n" + reports, Path.Combine(Path.GetTempPath(), "gateway.toml"));

    [Fact]
    public void Load_NoKey_DefaultsToSixtySeconds()
    {
        var result = Load("queue_capacity = 10\n");
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        Assert.Equal(60, result.Config!.Reports.MaxRetryAfterSeconds);
    }

    [Theory]
    [InlineData("max_retry_after_seconds = 0\n", "gateway.toml:2:1: reports.max_retry_after_seconds: must be between 1 and 3600, found 0")]
    [InlineData("max_retry_after_seconds = 86400\n", "gateway.toml:2:1: reports.max_retry_after_seconds: must be between 1 and 3600, found 86400")]
    public void Load_OutOfRange_IsAnErrorNamingTheKey(string reports, string expected)
    {
        Assert.Contains(expected, Load(reports).Errors.Select(e => e.ToString()));
    }

    [Theory]
    [InlineData(3600, 60, 60)]
    [InlineData(5, 60, 5)]
    [InlineData(3600, 1, 1)]
    public void CappedRetryAfter_Delta_IsCutToTheCap(int askedSeconds, int cap, int expectedSeconds)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(askedSeconds));
        var settings = new ReportSettings { MaxRetryAfterSeconds = cap };
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), WebhookSender.CappedRetryAfter(response, DateTimeOffset.UnixEpoch, settings));
    }

    [Fact]
    public void CappedRetryAfter_DateADayAhead_IsCutToTheCap()
    {
        var now = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(now.AddDays(1));
        Assert.Equal(TimeSpan.FromSeconds(60), WebhookSender.CappedRetryAfter(response, now, new ReportSettings()));
        Assert.Null(WebhookSender.CappedRetryAfter(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable), now, new ReportSettings()));
    }
}
