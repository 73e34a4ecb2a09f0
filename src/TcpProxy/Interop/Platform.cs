using System;

namespace TcpProxy.Interop;

/// <summary>
/// Which operating system's layer the Sys entry points call: chosen once, at
/// compile time in effect. OperatingSystem.IsMacOS() is a constant in each
/// OS's own System.Private.CoreLib, so the JIT and NativeAOT fold every
/// `Platform.IsDarwin ? ... : ...` to one branch: the Linux hot path keeps a
/// direct call to its Tmds.LibC wrapper and gains no work per syscall. The
/// other branch is never compiled for the OS at hand, which matters on
/// macOS: Tmds.LibC ships no macOS assembly, so no code that names its types
/// may ever run (or be JIT-compiled) there.
/// </summary>
internal static class Platform
{
    public static bool IsDarwin => OperatingSystem.IsMacOS();

    public static bool IsLinux => OperatingSystem.IsLinux();

    /// <summary>"Linux", "macOS", or the runtime's own description of another OS; for messages.</summary>
    public static string Name => IsLinux ? "Linux" : IsDarwin ? "macOS" : System.Runtime.InteropServices.RuntimeInformation.OSDescription;
}
