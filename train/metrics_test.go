package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, v)
	}
	return out
}

func writeSteps(t *testing.T, dir string, resume int, steps ...int) {
	t.Helper()
	m, err := OpenMetrics(dir, resume)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if err := m.Write(map[string]any{"step": s, "loss": 1.0 / float64(s)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func stepsOf(rows []map[string]any) []int {
	var s []int
	for _, r := range rows {
		s = append(s, int(r["step"].(float64)))
	}
	return s
}

func TestMetricsResumeTruncates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resume int
		want   []int
	}{
		{"fresh run empties the log", 0, []int{100, 200}},
		{"resume drops later lines", 20, []int{10, 20, 100, 200}},
		{"resume between lines", 25, []int{10, 20, 100, 200}},
		{"resume past the end keeps all", 1000, []int{10, 20, 30, 40, 100, 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSteps(t, dir, 0, 10, 20, 30, 40)
			writeSteps(t, dir, tc.resume, 100, 200)
			got := stepsOf(readLines(t, filepath.Join(dir, MetricsFile)))
			if len(got) != len(tc.want) {
				t.Fatalf("steps %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("steps %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestMetricsDropsTornLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, MetricsFile)
	if err := os.WriteFile(path, []byte("{\"step\":1}\n{\"step\":2}\n{\"step\":3,\"lo"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeSteps(t, dir, 5, 6)
	got := stepsOf(readLines(t, path))
	if want := []int{1, 2, 6}; len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 6 {
		t.Fatalf("steps %v, want %v", got, want)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestMetricsNonFinite(t *testing.T) {
	dir := t.TempDir()
	m, err := OpenMetrics(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = m.Write(map[string]any{"step": 1, "loss": math.NaN(), "grad_norm": float32(math.Inf(1)), "lr": 1e-3, "skipped": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	rows := readLines(t, m.Path())
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	r := rows[0]
	if r["loss"] != "NaN" || r["grad_norm"] != "+Inf" || r["lr"] != 1e-3 || r["skipped"] != 1.0 {
		t.Errorf("row %v", r)
	}
}

func TestMetricsBadDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenMetrics(filepath.Join(file, "sub"), 0)
	if err == nil || !strings.HasPrefix(err.Error(), "train: ") {
		t.Fatalf("err = %v, want a train: error", err)
	}
}

func TestFinite(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want bool
	}{{0, true}, {-1e300, true}, {math.NaN(), false}, {math.Inf(1), false}, {math.Inf(-1), false}} {
		if Finite(tc.x) != tc.want {
			t.Errorf("Finite(%g) = %v", tc.x, !tc.want)
		}
	}
}
