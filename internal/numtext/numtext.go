// Package numtext writes numbers and durations for people, the one way
// every report, summary and case text writes them: "1,234,567",
// "3 runs", "1.52 ms", "12.5 MiB".
package numtext

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Thousands writes n with comma separators: 1234567 → "1,234,567".
func Thousands(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return sign + string(out)
}

// Rounded writes v rounded to a whole number, with separators:
// 3999.6 → "4,000".
func Rounded(v float64) string { return Thousands(int(math.Round(v))) }

// Number writes a setting as given: a whole number with separators,
// anything else to four significant digits (2.5, 1234.5 → "1234").
func Number(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return Thousands(int(v))
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// Plural writes a count and its noun: "1 run", "0 runs", "1,200 cases".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return Thousands(n) + " " + noun + "s"
}

// Micros writes a duration given in microseconds with three significant
// digits and the unit that keeps it short: "749 µs", "1.52 ms", "2.80 s".
func Micros(us float64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%.0f µs", us)
	case us < 1e6:
		return sig3(us/1000) + " ms"
	}
	return sig3(us/1e6) + " s"
}

// Duration writes d as Micros does.
func Duration(d time.Duration) string { return Micros(float64(d) / float64(time.Microsecond)) }

func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// MiB writes a size given in bytes in mebibytes: "12.5 MiB".
func MiB(bytes float64) string { return fmt.Sprintf("%.1f MiB", bytes/(1<<20)) }
