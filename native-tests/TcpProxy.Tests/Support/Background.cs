using System;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace TcpProxy.Tests.Support;

/// <summary>Runs blocking socket work on dedicated threads (never the shared pool) and waits for it with a bound.</summary>
public static class Background
{
    public static Task<T> Run<T>(Func<T> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public static Task Run(Action work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Waits for the task at most <paramref name="limit"/>; rethrows its own exception unwrapped.</summary>
    public static T Await<T>(Task<T> task, TimeSpan limit, string what)
    {
        Await((Task)task, limit, what);
        return task.Result;
    }

    public static void Await(Task task, TimeSpan limit, string what)
    {
        try
        {
            if (!task.Wait(limit))
                throw new TimeoutException($"{what} did not finish within {limit.TotalSeconds:0.#} s");
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
