package numtext

import (
	"testing"
	"time"
)

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{
		0: "0", 7: "7", 999: "999", 1000: "1,000", -1000: "-1,000", 123456: "123,456", -1234567: "-1,234,567",
	} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Rounded(3999.6); got != "4,000" {
		t.Errorf("Rounded(3999.6) = %q", got)
	}
}

func TestNumber(t *testing.T) {
	for v, want := range map[float64]string{4000: "4,000", 2.5: "2.5", 1234.5: "1234", 0: "0"} {
		if got := Number(v); got != want {
			t.Errorf("Number(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 runs", 1: "1 run", 2: "2 runs", 1200: "1,200 runs"} {
		if got := Plural(n, "run"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestMicros(t *testing.T) {
	for us, want := range map[float64]string{
		0: "0 µs", 749: "749 µs", 1523: "1.52 ms", 12151: "12.2 ms", 121343: "121 ms",
		2795519: "2.80 s", 60e6: "60.0 s",
	} {
		if got := Micros(us); got != want {
			t.Errorf("Micros(%v) = %q, want %q", us, got, want)
		}
	}
	if got := Duration(1523 * time.Microsecond); got != "1.52 ms" {
		t.Errorf("Duration(1.523ms) = %q", got)
	}
}

func TestMiB(t *testing.T) {
	if got := MiB(40 << 20); got != "40.0 MiB" {
		t.Errorf("MiB(40 MiB) = %q", got)
	}
}
