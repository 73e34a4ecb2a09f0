using System;
using System.Globalization;
using System.Text;
using TcpProxy.Logging;

namespace TcpProxy.Tests.Unit;

/// <summary>The log's own RFC 3339 formatting against .NET's, across leap days, centuries and the epoch.</summary>
public sealed class UtcTimestampTests
{
    [Theory]
    [InlineData(0L, "1970-01-01T00:00:00.000Z")]
    [InlineData(-1L, "1969-12-31T23:59:59.999Z")]
    [InlineData(951_782_400_000L, "2000-02-29T00:00:00.000Z")]
    [InlineData(1_709_251_199_999L, "2024-02-29T23:59:59.999Z")]
    [InlineData(1_796_221_201_123L, "2026-12-02T14:20:01.123Z")]
    [InlineData(4_107_542_400_000L, "2100-03-01T00:00:00.000Z")]
    [InlineData(253_402_300_799_999L, "9999-12-31T23:59:59.999Z")]
    public void Format_WritesRfc3339InUtcWithMilliseconds(long unixMs, string expected)
    {
        Assert.Equal(expected, Formatted(unixMs));
    }

    [Fact]
    public void Format_AgreesWithDotNet_OnSpreadOutInstants()
    {
        var random = new Random(17);
        for (int i = 0; i < 20_000; i++)
        {
            long unixMs = random.NextInt64(-62_135_596_800_000, 253_402_300_800_000); // years 1 to 9999
            string expected = DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime
                .ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            Assert.Equal(expected, Formatted(unixMs));
        }
    }

    static string Formatted(long unixMs)
    {
        byte[] bytes = new byte[UtcTimestamp.Length];
        UtcTimestamp.Format(unixMs, bytes);
        return Encoding.ASCII.GetString(bytes);
    }
}
