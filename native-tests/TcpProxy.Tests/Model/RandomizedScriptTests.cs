using System;
using System.Globalization;
using System.Linq;
using CsCheck;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.Model;

/// <summary>
/// Random scripts of client and server behaviour (CsCheck) run through the real ./tcpproxy and
/// judged by <see cref="ProxyModel"/>. A failing script is shrunk to a smaller one and its seed
/// printed; replay it with MODEL_SEED=seed. Bounded for make test: MODEL_SCRIPTS scripts (default
/// 24); make fuzz sets MODEL_SECONDS instead and runs for that long.
/// </summary>
[Trait("Category", "Model")]
public sealed class RandomizedScriptTests
{
    readonly ITestOutputHelper output;

    public RandomizedScriptTests(ITestOutputHelper output) => this.output = output;

    [LinuxFact("counts the proxy's descriptors in /proc/PID/fd")]
    public void RandomScripts_MatchTheProxyModel()
    {
        string? seed = Environment.GetEnvironmentVariable("MODEL_SEED");
        int seconds = ReadInt("MODEL_SECONDS", -1);
        long scripts = seconds > 0 ? -1 : ReadInt("MODEL_SCRIPTS", 24);
        int runs = 0;
        ScriptGen.Script.Sample(script =>
            {
                var outcome = ScriptRunner.Run(script);
                System.Threading.Interlocked.Increment(ref runs);
                var violations = ProxyModel.Violations(outcome);
                if (violations.Count > 0)
                    throw new ModelViolation(violations, outcome);
            },
            writeLine: output.WriteLine,
            seed: string.IsNullOrWhiteSpace(seed) ? null : seed.Trim(),
            iter: scripts,
            time: seconds,
            threads: 2,
            print: script => $"{script.Pairs.Length} pair(s) at once:\n{script}");
        output.WriteLine($"{runs} scripts run through ./tcpproxy, all consistent with the model");
    }

    static int ReadInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value > 0
            ? value : fallback;
}

/// <summary>The model's verdict on one run, with what each end saw.</summary>
public sealed class ModelViolation : Exception
{
    public ModelViolation(System.Collections.Generic.IReadOnlyList<string> violations, ScriptOutcome outcome)
        : base(string.Join("\n", violations) + "\n    what each end saw:\n" +
               string.Join("\n", outcome.Pairs.Select((p, i) => $"    pair {i}: {p}")) +
               "\n    the proxy said:\n" + outcome.ProxyLog)
    {
    }
}
