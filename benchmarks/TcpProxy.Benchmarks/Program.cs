using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace TcpProxy.Benchmarks;

/// <summary>
/// BenchmarkDotNet's command line, plus an exit code the Makefile can test:
/// 1 if a benchmark threw or none ran, and with --assert-zero-alloc (ours,
/// removed before BenchmarkDotNet parses the rest) also if a benchmark in
/// the <see cref="Categories.ZeroAlloc"/> category allocated per operation.
/// </summary>
public static class Program
{
    private const string AssertZeroAllocFlag = "--assert-zero-alloc";

    public static int Main(string[] args)
    {
        bool assertZeroAlloc = args.Contains(AssertZeroAllocFlag);
        string[] benchmarkArgs = args.Where(a => a != AssertZeroAllocFlag).ToArray();
        IEnumerable<Summary> summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(benchmarkArgs);
        if (benchmarkArgs.Any(a => a is "--list" or "--help" or "-h" or "--version" or "--info"))
            return 0;

        BenchmarkReport[] reports = summaries.SelectMany(s => s.Reports).ToArray();
        var problems = new List<string>();
        if (reports.Length == 0)
            problems.Add("no benchmark ran (check --filter)");
        foreach (Summary summary in summaries.Where(s => s.HasCriticalValidationErrors))
            problems.Add("validation failed: " + summary.Title);
        foreach (BenchmarkReport report in reports)
        {
            string name = report.BenchmarkCase.DisplayInfo;
            if (!report.Success || report.ResultStatistics is null)
            {
                problems.Add("failed: " + name);
                continue;
            }
            long? allocated = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase);
            if (assertZeroAlloc && report.BenchmarkCase.Descriptor.Categories.Contains(Categories.ZeroAlloc) && allocated != 0)
                problems.Add($"allocates {allocated?.ToString() ?? "an unknown number of"} B per operation, expected 0: {name}");
        }
        foreach (string problem in problems)
            Console.Error.WriteLine("TcpProxy.Benchmarks: " + problem);
        return problems.Count == 0 ? 0 : 1;
    }
}

/// <summary>Benchmark categories (select with --anyCategories / --allCategories).</summary>
public static class Categories
{
    /// <summary>Hot paths that must not allocate: one allocation per chunk or event would mean GC pauses under load.</summary>
    public const string ZeroAlloc = "ZeroAlloc";
}
