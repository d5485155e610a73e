using System.Globalization;
using System.Numerics;

namespace KimiSharp.Grammar.Json;

/// <summary>
/// JSON numbers within bounds as grammar expressions: integers digit-exact (the classic range-to-regex
/// construction, per digit count), decimals by integer part plus a fraction constrained digit by digit against
/// the bounds' fraction digits. Digit counts are capped (unbounded sides stop at the cap), so generation ends.
/// No exponents are generated.
/// </summary>
internal static class JsonNumbers
{
    private static readonly GrammarExpr Digit = GrammarExpr.ByteRange((byte)'0', (byte)'9');
    private static readonly GrammarExpr NonZero = GrammarExpr.ByteRange((byte)'1', (byte)'9');

    /// <summary>Integers in [min, max] (null = unbounded), at most <paramref name="maxDigits"/> digits on an unbounded side.</summary>
    public static GrammarExpr Integer(BigInteger? min, BigInteger? max, int maxDigits)
    {
        if (min is { } a && max is { } b && a > b) return GrammarExpr.Nothing;
        var alternatives = new List<GrammarExpr>();
        // Negative part: -u with u in [max(1, -max), -min].
        if (min is null || min < 0)
        {
            BigInteger uLo = max is { } hi && hi < 0 ? -hi : 1;
            BigInteger? uHi = min is { } lo ? -lo : null;
            alternatives.Add(GrammarExpr.Seq(GrammarExpr.Literal("-"), Unsigned(uLo, uHi, maxDigits)));
        }
        if (max is null || max >= 0)
        {
            BigInteger lo = min is { } m && m > 0 ? m : 0;
            alternatives.Add(Unsigned(lo, max, maxDigits));
        }
        return GrammarExpr.Alt(alternatives);
    }

    /// <summary>Non-negative integers in [lo, hi] without leading zeros (hi null = up to the digit cap).</summary>
    public static GrammarExpr Unsigned(BigInteger lo, BigInteger? hi, int maxDigits)
    {
        if (hi is { } h && lo > h) return GrammarExpr.Nothing;
        string los = lo.ToString(CultureInfo.InvariantCulture);
        int maxLength = hi is { } hv ? hv.ToString(CultureInfo.InvariantCulture).Length : Math.Max(maxDigits, los.Length);
        var alternatives = new List<GrammarExpr>();
        for (int n = los.Length; n <= maxLength; n++)
        {
            BigInteger first = n == 1 ? 0 : BigInteger.Pow(10, n - 1), last = BigInteger.Pow(10, n) - 1;
            BigInteger a = BigInteger.Max(lo, first), b = hi is { } hh ? BigInteger.Min(hh, last) : last;
            if (a > b) continue;
            if (hi is null && a == first && n > 1)
            {
                // Every number from here up to the cap: [1-9][0-9]{n-1, maxLength-1}.
                alternatives.Add(GrammarExpr.Seq(NonZero, GrammarExpr.Repeat(Digit, n - 1, maxLength - 1)));
                break;
            }
            alternatives.Add(SameLength(a.ToString(CultureInfo.InvariantCulture), b.ToString(CultureInfo.InvariantCulture)));
        }
        return GrammarExpr.Alt(alternatives);
    }

    /// <summary>Digit strings of equal length between x and y (inclusive).</summary>
    private static GrammarExpr SameLength(string x, string y)
    {
        if (x.Length == 0) return GrammarExpr.Empty;
        if (x == y) return GrammarExpr.Literal(x);
        if (x[0] == y[0]) return GrammarExpr.Seq(GrammarExpr.Literal(x[..1]), SameLength(x[1..], y[1..]));
        string rx = x[1..], ry = y[1..];
        if (rx.All(c => c == '0') && ry.All(c => c == '9'))
            return GrammarExpr.Seq(Range(x[0], y[0]), GrammarExpr.Repeat(Digit, rx.Length, rx.Length));
        var alternatives = new List<GrammarExpr>
        {
            GrammarExpr.Seq(GrammarExpr.Literal(x[..1]), SameLength(rx, new string('9', rx.Length))),
        };
        if (x[0] + 1 <= y[0] - 1)
            alternatives.Add(GrammarExpr.Seq(Range((char)(x[0] + 1), (char)(y[0] - 1)), GrammarExpr.Repeat(Digit, rx.Length, rx.Length)));
        alternatives.Add(GrammarExpr.Seq(GrammarExpr.Literal(y[..1]), SameLength(new string('0', ry.Length), ry)));
        return GrammarExpr.Alt(alternatives);
    }

    private static GrammarExpr Range(char lo, char hi) => GrammarExpr.ByteRange((byte)lo, (byte)hi);

    /// <summary>
    /// Decimals (optional fraction, no exponent) in the interval given by the bounds (null = unbounded).
    /// </summary>
    public static GrammarExpr Decimal(decimal? min, bool minExclusive, decimal? max, bool maxExclusive, int maxIntDigits, int maxFracDigits)
    {
        if (min is { } a && max is { } b && (a > b || (a == b && (minExclusive || maxExclusive)))) return GrammarExpr.Nothing;
        var alternatives = new List<GrammarExpr>();
        // Negative values -u: u in [-max, -min] (bounds swap); u must be > 0 ("-0" is not written).
        if (min is null || min < 0)
        {
            decimal uLo = max is { } hi && hi <= 0 ? -hi : 0;
            bool uLoExclusive = max is { } hi2 && hi2 <= 0 ? maxExclusive || uLo == 0 : true;
            decimal? uHi = min is { } lo ? -lo : null;
            alternatives.Add(GrammarExpr.Seq(GrammarExpr.Literal("-"), NonNegative(uLo, uLoExclusive, uHi, minExclusive, maxIntDigits, maxFracDigits)));
        }
        if (max is null || max > 0 || (max == 0 && !maxExclusive))
        {
            decimal lo = min is { } m && m > 0 ? m : 0;
            bool loExclusive = min is { } m2 && m2 >= 0 && minExclusive;
            alternatives.Add(NonNegative(lo, loExclusive, max, maxExclusive, maxIntDigits, maxFracDigits));
        }
        return GrammarExpr.Alt(alternatives);
    }

    private static GrammarExpr NonNegative(decimal lo, bool loExclusive, decimal? hi, bool hiExclusive, int maxIntDigits, int maxFracDigits)
    {
        var (kLo, fLo) = Split(lo);
        int fracCap = Math.Max(maxFracDigits, fLo.Length);
        if (hi is not { } h)
        {
            return GrammarExpr.Alt(
                GrammarExpr.Seq(GrammarExpr.Literal(kLo.ToString(CultureInfo.InvariantCulture)), Fraction(fLo, loExclusive, null, false, fracCap)),
                GrammarExpr.Seq(Unsigned(kLo + 1, null, maxIntDigits), Fraction(null, false, null, false, fracCap)));
        }
        var (kHi, fHi) = Split(h);
        fracCap = Math.Max(fracCap, fHi.Length);
        if (kLo == kHi)
            return GrammarExpr.Seq(GrammarExpr.Literal(kLo.ToString(CultureInfo.InvariantCulture)), Fraction(fLo, loExclusive, fHi, hiExclusive, fracCap));
        var alternatives = new List<GrammarExpr>
        {
            GrammarExpr.Seq(GrammarExpr.Literal(kLo.ToString(CultureInfo.InvariantCulture)), Fraction(fLo, loExclusive, null, false, fracCap)),
        };
        if (kLo + 1 <= kHi - 1)
            alternatives.Add(GrammarExpr.Seq(Unsigned(kLo + 1, kHi - 1, maxIntDigits), Fraction(null, false, null, false, fracCap)));
        alternatives.Add(GrammarExpr.Seq(GrammarExpr.Literal(kHi.ToString(CultureInfo.InvariantCulture)), Fraction(null, false, fHi, hiExclusive, fracCap)));
        return GrammarExpr.Alt(alternatives);
    }

    /// <summary>Integer part and fraction digits (no trailing zeros) of a non-negative decimal.</summary>
    private static (BigInteger Int, string Frac) Split(decimal value)
    {
        string s = value.ToString("0.############################", CultureInfo.InvariantCulture);
        int dot = s.IndexOf('.');
        if (dot < 0) return (BigInteger.Parse(s, CultureInfo.InvariantCulture), "");
        return (BigInteger.Parse(s[..dot], CultureInfo.InvariantCulture), s[(dot + 1)..].TrimEnd('0'));
    }

    /// <summary>
    /// The optional fraction part ("" or "." digits) whose digit string F satisfies lo ≤ F ≤ hi (strict where asked),
    /// comparing as zero-padded fractions; a null bound means the fraction is not tight on that side.
    /// </summary>
    private static GrammarExpr Fraction(string? lo, bool loExclusive, string? hi, bool hiExclusive, int cap)
    {
        var memo = new Dictionary<(int, bool, bool), GrammarExpr>();
        string low = lo ?? "", high = hi ?? "";

        bool CanStop(int j, bool tl, bool th)
        {
            if (tl && (j < low.Length || loExclusive)) return false; // below lo, or equal to an exclusive lo
            if (th && j >= high.Length && hiExclusive) return false; // equal to an exclusive hi
            return true;
        }

        // Digits from position j on (at least one), given tightness against the bounds.
        GrammarExpr Digits(int j, bool tl, bool th)
        {
            if (j >= cap) return GrammarExpr.Nothing;
            if (memo.TryGetValue((j, tl, th), out var cached)) return cached;
            int lowDigit = tl && j < low.Length ? low[j] - '0' : 0;
            int highDigit = th ? (j < high.Length ? high[j] - '0' : 0) : 9;
            var alternatives = new List<GrammarExpr>();
            for (int c = lowDigit; c <= highDigit; c++)
            {
                bool ntl = tl && c == lowDigit, nth = th && c == highDigit;
                if (!ntl && !nth && c < highDigit)
                {
                    // A run of free digits: any continuation.
                    int end = th ? highDigit - 1 : 9;
                    alternatives.Add(GrammarExpr.Seq(Range((char)('0' + c), (char)('0' + end)), After(j + 1, false, false)));
                    c = end;
                    continue;
                }
                alternatives.Add(GrammarExpr.Seq(GrammarExpr.Literal(((char)('0' + c)).ToString()), After(j + 1, ntl, nth)));
            }
            var result = GrammarExpr.Alt(alternatives);
            memo[(j, tl, th)] = result;
            return result;
        }

        GrammarExpr After(int j, bool tl, bool th)
        {
            if (!tl && !th) return GrammarExpr.Repeat(Digit, 0, cap - j);
            var more = Digits(j, tl, th);
            return CanStop(j, tl, th) ? GrammarExpr.Alt(GrammarExpr.Empty, more) : more;
        }

        bool tight0l = lo is not null, tight0h = hi is not null;
        var fraction = GrammarExpr.Seq(GrammarExpr.Literal("."), Digits(0, tight0l, tight0h));
        return CanStop(0, tight0l, tight0h) ? GrammarExpr.Alt(GrammarExpr.Empty, fraction) : fraction;
    }
}
