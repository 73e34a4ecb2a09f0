namespace TcpProxy.Configuration;

public enum LogLevel
{
    /// <summary>Only errors that stop the proxy.</summary>
    Quiet,
    /// <summary>Start-up, warnings (unreachable destination, descriptor exhaustion).</summary>
    Normal,
    /// <summary>Also one line per connection opened and closed.</summary>
    Verbose,
}
