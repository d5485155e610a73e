using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.Generation;

/// <summary>Tool names as Kimi ids can carry them: letters, digits, '_', '-', '.', up to 128 characters.</summary>
public static class ToolNames
{
    public static string Validate(string? name, string param)
    {
        if (string.IsNullOrEmpty(name))
            throw ApiException.Invalid(param, "is required");
        if (name.Length > 128 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            throw ApiException.Invalid(param, $"'{Shorten(name)}' must be 1–128 characters of letters, digits, '_', '-' or '.'");
        return name;
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
