using TcpProxy.Interop.Darwin;

namespace TcpProxy.Interop;

/// <summary>
/// Signal numbers that .NET's PosixSignal does not name; a raw number cast to
/// PosixSignal is accepted by PosixSignalRegistration on Unix. They differ by
/// OS: SIGUSR1 is 10 on Linux, 30 on macOS.
/// </summary>
public static class SignalNumbers
{
    // The same on Linux and macOS.
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    private const int LinuxSIGUSR1 = 10;
    private const int LinuxSIGUSR2 = 12;

    public static int SIGUSR1 => Platform.IsDarwin ? DarwinConstants.SIGUSR1 : LinuxSIGUSR1;

    public static int SIGUSR2 => Platform.IsDarwin ? DarwinConstants.SIGUSR2 : LinuxSIGUSR2;
}
