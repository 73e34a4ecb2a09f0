using System;

namespace TcpProxy.Tests.Support;

/// <summary>
/// A test that needs Linux itself — /proc, /dev/full, prlimit(2), Tmds.LibC —
/// rather than the proxy's behaviour: it runs on Linux and is skipped
/// elsewhere (macOS) with the reason, instead of failing there.
/// </summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute(string needs)
    {
        if (!OperatingSystem.IsLinux())
            Skip = "Linux only: " + needs;
    }
}

/// <summary>The <see cref="LinuxFactAttribute"/> of theories.</summary>
public sealed class LinuxTheoryAttribute : TheoryAttribute
{
    public LinuxTheoryAttribute(string needs)
    {
        if (!OperatingSystem.IsLinux())
            Skip = "Linux only: " + needs;
    }

    /// <summary>Why libkqueue cannot pass it: skipped in the kqueue step too (see <see cref="NotOnLibKqueueFactAttribute"/>).</summary>
    public string? NotOnLibKqueue
    {
        get => null;
        set => Skip ??= value is null ? null : LibKqueueRun.SkipReason(value);
    }
}
