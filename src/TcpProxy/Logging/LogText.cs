using System;
using System.Globalization;

namespace TcpProxy.Logging;

/// <summary>How log lines name the things they are about, the same everywhere.</summary>
public static class LogText
{
    /// <summary>A callback's fault: "InvalidOperationException: message" (never a stack trace).</summary>
    public static string Fault(Exception exception) => exception.GetType().Name + ": " + exception.Message;

    /// <summary>A connection: "#12 127.0.0.1:5000" (the peer only when known).</summary>
    public static string Connection(long number, string? peerName) =>
        "#" + number.ToString(CultureInfo.InvariantCulture) + " " + (peerName ?? "client");
}
