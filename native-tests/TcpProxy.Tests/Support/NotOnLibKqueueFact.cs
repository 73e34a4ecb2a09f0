using System;

namespace TcpProxy.Tests.Support;

/// <summary>
/// A test of behaviour that libkqueue cannot give the kqueue backend on Linux
/// (docs/kqueue-libkqueue.md): skipped, with the reason, when every proxy runs
/// on it (make dotnet-test-kqueue: --poller kqueue in $TCPPROXY_EXTRA_ARGS on
/// Linux); it runs everywhere else, macOS's own kqueue included.
/// </summary>
public sealed class NotOnLibKqueueFactAttribute : FactAttribute
{
    public NotOnLibKqueueFactAttribute(string why)
    {
        Skip = LibKqueueRun.SkipReason(why);
    }
}

/// <summary>Whether this test run puts every proxy on libkqueue (the kqueue step).</summary>
public static class LibKqueueRun
{
    public static bool Active { get; } = Find();

    /// <summary>"libkqueue: why" in the kqueue step, else null (the test runs).</summary>
    public static string? SkipReason(string why) => Active ? "libkqueue: " + why : null;

    private static bool Find()
    {
        var extra = ProxyBinary.ExtraArguments;
        for (int i = 0; i + 1 < extra.Count; i++)
        {
            if (extra[i] == "--poller" && extra[i + 1] == "kqueue")
                return OperatingSystem.IsLinux();
        }
        return false;
    }
}
