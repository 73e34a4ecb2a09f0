using System;
using System.Linq;
using CsCheck;

namespace TcpProxy.Tests.Model;

public enum Side { Client, Server }

/// <summary>One thing a peer does, in script order. Steps a peer can no longer do (sending after its half-close) are skipped.</summary>
public abstract record Step;

/// <summary>The side writes this many pattern bytes (blocking until the kernel took them, or the pair ended).</summary>
public sealed record Send(Side Side, int Bytes) : Step
{
    public override string ToString() => $"{Side} sends {Bytes} B";
}

/// <summary>Nothing happens on this pair for a while.</summary>
public sealed record Pause(int Milliseconds) : Step
{
    public override string ToString() => $"pause {Milliseconds} ms";
}

/// <summary>shutdown(SHUT_WR): the side's EOF, after what it sent.</summary>
public sealed record HalfClose(Side Side) : Step
{
    public override string ToString() => $"{Side} half-closes";
}

/// <summary>The side closes with SO_LINGER 0: a reset.</summary>
public sealed record Reset(Side Side) : Step
{
    public override string ToString() => $"{Side} resets";
}

/// <summary>The side's reader stops for a while and then resumes; the script goes on meanwhile (a slow reader).</summary>
public sealed record StopReading(Side Side, int Milliseconds) : Step
{
    public override string ToString() => $"{Side} stops reading for {Milliseconds} ms";
}

/// <summary>The side stops reading for a while, and meanwhile the other side sends a lot to it.</summary>
public sealed record StallUnderLoad(Side Side, int Milliseconds, int Bytes) : Step
{
    public override string ToString() => $"{Side} stops reading for {Milliseconds} ms while the other side sends {Bytes} B";
}

/// <summary>What one client and its server do on one proxied pair.</summary>
public sealed record PairScript(Step[] Steps)
{
    public override string ToString() => string.Join("; ", Steps.Select(s => s.ToString()));
}

/// <summary>Several pairs run at once through one proxy.</summary>
public sealed record ProxyScript(PairScript[] Pairs)
{
    public override string ToString() =>
        string.Join("\n", Pairs.Select((p, i) => $"  pair {i}: {p}"));
}

/// <summary>
/// Generators of scripts. A reader stops either briefly (well under the stall timeout) or for
/// long (well over it), never near it, so the model can say which stalls may abort a pair
/// without depending on scheduling to a few milliseconds.
/// </summary>
public static class ScriptGen
{
    /// <summary>The proxy's stall timeout under test; short so that stalls happen quickly.</summary>
    public const double StallTimeoutSeconds = 1.0;
    public const int ShortStallMaxMs = 400;   // 0.4 x the stall timeout
    public const int LongStallMinMs = 2000;   // 2 x
    public const int LongStallMaxMs = 3000;

    static readonly Gen<Side> AnySide = Gen.OneOf(Side.Client, Side.Server);

    // Mostly small messages, some tens of KiB, a few up to 2 MiB.
    static readonly Gen<int> MessageSize = Gen.Frequency(
        (6, (IGen<int>)Gen.Int[1, 256]),
        (3, Gen.Int[257, 64 * 1024]),
        (1, Gen.Int[64 * 1024 + 1, 2 << 20]));

    static readonly Gen<int> StallMs = Gen.Frequency(
        (3, (IGen<int>)Gen.Int[10, ShortStallMaxMs]),
        (1, Gen.Int[LongStallMinMs, LongStallMaxMs]));

    static readonly Gen<Step> AnyStep = Gen.Frequency(
        (8, (IGen<Step>)Gen.Select(AnySide, MessageSize, (side, bytes) => (Step)new Send(side, bytes))),
        (2, Gen.Int[0, 100].Select(ms => (Step)new Pause(ms))),
        (2, AnySide.Select(side => (Step)new HalfClose(side))),
        (1, AnySide.Select(side => (Step)new Reset(side))),
        (2, Gen.Select(AnySide, StallMs, (side, ms) => (Step)new StopReading(side, ms))),
        (1, Gen.Select(AnySide, StallMs, Gen.Int[4 << 20, 8 << 20], (side, ms, bytes) => (Step)new StallUnderLoad(side, ms, bytes))));

    public static readonly Gen<PairScript> Pair = AnyStep.Array[1, 8].Select(steps => new PairScript(steps));

    public static readonly Gen<ProxyScript> Script = Pair.Array[1, 4].Select(pairs => new ProxyScript(pairs));
}
