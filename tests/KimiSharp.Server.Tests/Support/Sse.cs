namespace KimiSharp.Server.Tests.Support;

/// <summary>Reads a text/event-stream body into (event name, data) frames.</summary>
internal static class Sse
{
    public static List<(string? Event, string Data)> Parse(string body)
    {
        var frames = new List<(string?, string)>();
        foreach (var frame in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null, data = null;
            foreach (var line in frame.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
                else throw new FormatException($"unexpected SSE line '{line}'");
            }

            frames.Add((name, data ?? throw new FormatException("frame without data")));
        }

        return frames;
    }
}
