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
        if (RunsOnLibKqueue)
            Skip = "libkqueue: " + why;
    }

    private static bool RunsOnLibKqueue
    {
        get
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
}
