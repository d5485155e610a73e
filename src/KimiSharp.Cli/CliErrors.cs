namespace KimiSharp.Cli;

/// <summary>Turns any failure of a command into one line on stderr and exit code 1 (no stack traces).</summary>
public static class CliErrors
{
    public static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"error: {OneLine(e)}");
            return 1;
        }
    }

    public static async Task<int> GuardAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"error: {OneLine(e)}");
            return 1;
        }
    }

    private static string OneLine(Exception e) => e.Message.ReplaceLineEndings(" ").Trim();
}
