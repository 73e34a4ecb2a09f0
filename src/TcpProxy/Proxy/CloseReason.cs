namespace TcpProxy.Proxy;

/// <summary>
/// Why a client connection ended: one list shared by the verbose log, the
/// access log and the metrics' reason label, so the three always agree.
/// </summary>
public enum CloseReason : byte
{
    /// <summary>Both directions reached EOF and were drained.</summary>
    Eof,
    /// <summary>Buffered data stayed unwritable for the stall timeout (aborted).</summary>
    Stall,
    /// <summary>A write to either side failed (aborted).</summary>
    WriteError,
    /// <summary>Every destination address refused or failed.</summary>
    ConnectFailed,
    /// <summary>The last destination address tried did not answer within the connect timeout.</summary>
    ConnectTimeout,
    /// <summary>No byte moved either way for the idle timeout.</summary>
    Idle,
    /// <summary>Still open when the drain timed out, or at a second SIGTERM/SIGINT (aborted).</summary>
    Drain,
    /// <summary>A peer reset its side (a read error), or the pair could not be set up.</summary>
    Reset,
}

public static class CloseReasons
{
    public const int Count = 8;

    /// <summary>The label used in every log and metric: "eof", "write_error", ...</summary>
    public static string Name(CloseReason reason) => reason switch
    {
        CloseReason.Eof => "eof",
        CloseReason.Stall => "stall",
        CloseReason.WriteError => "write_error",
        CloseReason.ConnectFailed => "connect_failed",
        CloseReason.ConnectTimeout => "connect_timeout",
        CloseReason.Idle => "idle",
        CloseReason.Drain => "drain",
        _ => "reset",
    };
}
