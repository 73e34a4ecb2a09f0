using System;
using System.Collections.Generic;

namespace TcpProxy.Tests.Model;

/// <summary>How a peer's reading ended.</summary>
public enum ReadEnd { Running, Eof, Reset, ClosedLocally, WrongByte, TimedOut }

/// <summary>What one end of a proxied pair did and saw; times are seconds since the script started.</summary>
public sealed class PeerLog
{
    public PeerLog(Side side) => Side = side;

    public Side Side { get; }
    public long Sent;                 // bytes the kernel took
    public long Received;             // bytes read, each checked against the other side's pattern
    public long WrongByteAt = -1;
    public ReadEnd End;
    public double EndedAt;
    public double? HalfClosedAt;
    public double? ResetAt;
    public string? WriteError;        // the error that stopped this side's writing
    public double? WriteErrorAt;
    public bool EofNotPassedOn;       // after this side's half-close the other side's reader went on and on
    public bool SendStuck;            // a send made no progress within its bound
    public double LongestBlocked;     // longest wait of a send that then went on (seconds)
    public double LongestBlockedEndedAt;
    public readonly List<(double Start, double Milliseconds)> Stalls = new();

    public bool CanSend => HalfClosedAt is null && ResetAt is null && WriteError is null;

    public override string ToString() =>
        $"{Side}: sent {Sent}, received {Received}, read end {End} at {EndedAt:0.000} s" +
        (HalfClosedAt is { } h ? $", half-closed at {h:0.000} s" : "") +
        (ResetAt is { } r ? $", reset at {r:0.000} s" : "") +
        (WriteError is { } e ? $", write stopped by {e} at {WriteErrorAt:0.000} s" : "") +
        (WrongByteAt >= 0 ? $", WRONG BYTE at {WrongByteAt}" : "") +
        (SendStuck ? ", a send got stuck" : "") +
        (EofNotPassedOn ? ", its EOF never reached the other side" : "") +
        (LongestBlocked > 0.5 ? $", a send waited {LongestBlocked:0.000} s until {LongestBlockedEndedAt:0.000} s" : "") +
        (Stalls.Count > 0 ? ", stalls " + string.Join(", ", Stalls.ConvertAll(s => $"{s.Milliseconds} ms at {s.Start:0.000} s")) : "");
}

/// <summary>What happened on one pair: both ends' logs.</summary>
public sealed record PairLog(PeerLog Client, PeerLog Server)
{
    public PeerLog this[Side side] => side == Side.Client ? Client : Server;

    public PeerLog Other(PeerLog peer) => ReferenceEquals(peer, Client) ? Server : Client;

    public override string ToString() => $"{Client}\n      {Server}";
}
