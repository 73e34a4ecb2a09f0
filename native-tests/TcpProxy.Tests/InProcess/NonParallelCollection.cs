namespace TcpProxy.Tests.InProcess;

/// <summary>
/// Tests that read process-wide counters (thread-pool work items) or rely on
/// the kernel handing back the lowest free fd run alone, not beside others.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NonParallelCollection
{
    public const string Name = "In-process, alone";
}
