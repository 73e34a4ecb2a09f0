using System;
using TcpProxy.Configuration;

namespace TcpProxy.Tests.Unit;

/// <summary>Every enum value the command line can choose has one name, and the name reads back as that value.</summary>
public sealed class EnumNamesTests
{
    [Fact]
    public void EveryPollerKind_RoundTrips() => AssertRoundTrips(PollerKindNames.All, Enum.GetValues<PollerKind>());

    [Fact]
    public void EverySpliceMode_RoundTrips() => AssertRoundTrips(SpliceModeNames.All, Enum.GetValues<SpliceMode>());

    [Fact]
    public void EveryAccessLogFormat_RoundTrips() => AssertRoundTrips(AccessLogFormatNames.All, Enum.GetValues<AccessLogFormat>());

    [Fact]
    public void EveryProxyProtocolVersion_ButNone_RoundTrips()
    {
        AssertRoundTrips(ProxyProtocolVersions.All, [ProxyProtocolVersion.V1, ProxyProtocolVersion.V2]);
        Assert.Throws<ArgumentOutOfRangeException>(() => ProxyProtocolVersion.None.Name());
    }

    [Fact]
    public void Names_AreCaseSensitive_AsOnTheCommandLine() => Assert.False(PollerKindNames.All.TryParse("EPOLL", out _));

    private static void AssertRoundTrips<T>(EnumNames<T> names, T[] values) where T : struct, Enum
    {
        foreach (T value in values)
        {
            Assert.True(names.TryParse(names.NameOf(value), out T parsed));
            Assert.Equal(value, parsed);
        }
        Assert.Equal(values.Length, System.Linq.Enumerable.Count(names.Names));
    }
}
