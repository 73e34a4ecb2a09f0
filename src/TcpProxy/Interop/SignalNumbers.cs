namespace TcpProxy.Interop;

/// <summary>
/// Linux signal numbers that .NET's PosixSignal does not name; a raw number
/// cast to PosixSignal is accepted by PosixSignalRegistration on Unix.
/// </summary>
public static class SignalNumbers
{
    public const int SIGUSR1 = 10;
}
