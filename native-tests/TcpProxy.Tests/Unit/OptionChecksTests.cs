using System;
using TcpProxy.Configuration;

namespace TcpProxy.Tests.Unit;

/// <summary>The checks between options as a program that builds its own options meets them (the CLI's are pinned by CommandLineParsingTests).</summary>
public sealed class OptionChecksTests
{
    private static readonly ProxyOptions Options = new() { DestinationHost = "127.0.0.1", DestinationPort = 9, ListenPort = 0 };

    [Fact]
    public void TheDefaults_PassEveryCheck() => Assert.Null(OptionChecks.FirstProblem(Options));

    [Theory]
    [InlineData(ProxyProtocolVersion.V1, 106, "--buffer-size: '106' is too small for --send-proxy v1 (at least 107 bytes, the longest header)")]
    [InlineData(ProxyProtocolVersion.V2, 51, "--buffer-size: '51' is too small for --send-proxy v2 (at least 52 bytes, the longest header)")]
    [InlineData(ProxyProtocolVersion.V2, 52, null)]
    public void ABufferTooSmallForThePROXYHeader_IsAProblem(ProxyProtocolVersion version, int bufferSize, string? expected) =>
        Assert.Equal(expected, OptionChecks.FirstProblem(Options with { SendProxy = version, BufferSize = bufferSize }));

    [Fact]
    public void BufferMemoryBelowOneBuffer_IsAProblem_QuotingTheTypedTextWhenThereIsOne()
    {
        ProxyOptions options = Options with { BufferMemory = 4096 };
        Assert.Equal("--buffer-memory: '4096' is less than one buffer (--buffer-size 8192)", OptionChecks.FirstProblem(options));
        Assert.Equal("--buffer-memory: '4K' is less than one buffer (--buffer-size 8192)",
            OptionChecks.FirstProblem(options, name => name == "--buffer-memory" ? "4K" : null));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(257)]
    public void ReactorsOutOfRange_IsAProblem(int reactors) =>
        Assert.Equal("--reactors must be 1 to 256", OptionChecks.FirstProblem(Options with { Reactors = reactors }));

    [Fact]
    public void LogFormatWithoutAccessLog_IsAProblemOnlyWhenTyped()
    {
        ProxyOptions options = Options with { AccessLogFormat = AccessLogFormat.Json };
        Assert.Null(OptionChecks.FirstProblem(options));
        Assert.Equal("--log-format: 'json' needs --access-log (it formats the access log only)",
            OptionChecks.FirstProblem(options, name => name == "--log-format" ? "json" : null));
    }

    [Fact]
    public void SeveralProblems_TheFirstCheckWins()
    {
        ProxyOptions options = Options with { SendProxy = ProxyProtocolVersion.V1, BufferSize = 10, BufferMemory = 5, Reactors = 0 };
        Assert.StartsWith("--buffer-size: '10' is too small", OptionChecks.FirstProblem(options), StringComparison.Ordinal);
        Assert.Equal("--verbose and --quiet exclude each other", OptionChecks.FirstProblem(options, name => name is "--verbose" or "--quiet" ? "" : null));
    }
}
