using System;
using System.Globalization;
using System.Linq;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace TcpProxy.Benchmarks;

/// <summary>
/// A rate derived from the measured Mean: units done per operation / Mean.
/// BenchmarkDotNet reports time per operation; events/s and MB/s read better.
/// </summary>
internal sealed class RateColumn : IColumn
{
    private readonly Func<BenchmarkCase, double?> _unitsPerOperation;
    private readonly string _format;

    /// <param name="unitsPerOperation">Units per operation, or null for a benchmark the rate does not apply to.</param>
    public RateColumn(string name, string legend, string format, Func<BenchmarkCase, double?> unitsPerOperation)
    {
        ColumnName = name;
        Legend = legend;
        _format = format;
        _unitsPerOperation = unitsPerOperation;
    }

    public string Id => nameof(RateColumn) + "." + ColumnName;

    public string ColumnName { get; }

    public string Legend { get; }

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        // A joined summary shows every column on every row; the rate means nothing for other classes.
        if (_unitsPerOperation(benchmarkCase) is not double units)
            return "-";
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (meanNs is not double mean || mean <= 0)
            return "NA";
        return (units / (mean / 1e9)).ToString(_format, CultureInfo.InvariantCulture);
    }

    public override string ToString() => ColumnName;
}

/// <summary>Events/s for the dispatch benchmarks: Signalled (a parameter) events per operation.</summary>
public sealed class EventsPerSecondColumnAttribute : ColumnConfigBaseAttribute
{
    public EventsPerSecondColumnAttribute()
        : base(new RateColumn("Events/s", "Events dispatched per second (Signalled / Mean)", "N0",
            benchmarkCase => benchmarkCase.Parameters.Items.Any(p => p.Name == "Signalled")
                ? Convert.ToDouble(benchmarkCase.Parameters["Signalled"], CultureInfo.InvariantCulture)
                : null))
    {
    }
}

/// <summary>MB/s (10^6 bytes) for the transfer benchmark.</summary>
public sealed class MegabytesPerSecondColumnAttribute : ColumnConfigBaseAttribute
{
    public MegabytesPerSecondColumnAttribute()
        : base(new RateColumn("MB/s", "Payload megabytes (10^6 B) forwarded per second (bytes per operation / Mean)", "N0",
            benchmarkCase => benchmarkCase.Descriptor.Type == typeof(LoopbackTransferBenchmarks)
                ? LoopbackTransferBenchmarks.BytesPerOperation / 1e6
                : null))
    {
    }
}
