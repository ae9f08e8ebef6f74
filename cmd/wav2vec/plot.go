package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func runPlot(e *env, args []string) int {
	fs := newFlags(e, "plot", "--out FILE.png [--y KEYS] [--x KEY] [--log] RUN...")
	out := fs.String("out", "", "PNG file to write (required)")
	ys := fs.String("y", "loss", "comma-separated metrics.jsonl keys, one panel each")
	x := fs.String("x", "step", "key for the x axis")
	logY := fs.Bool("log", false, "logarithmic y axes")
	width := fs.Float64("width", 16, "width in centimetres")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *out == "" {
		return usageErr(e, fs, "--out is required")
	}
	if fs.NArg() == 0 {
		return usageErr(e, fs, "name at least one run folder or metrics.jsonl file")
	}
	keys := strings.Split(*ys, ",")
	runs := make([]runMetrics, 0, fs.NArg())
	for _, a := range fs.Args() {
		r, err := readRun(a)
		if err != nil {
			return fail(e, err)
		}
		runs = append(runs, r)
	}
	if err := plotRuns(*out, runs, *x, keys, *logY, vg.Length(*width)*vg.Centimeter); err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stderr, "wav2vec: wrote %s\n", *out)
	return exitOK
}

// runMetrics is the rows of one metrics.jsonl.
type runMetrics struct {
	name string
	rows []map[string]any
}

// readRun reads DIR/metrics.jsonl, or the named .jsonl file.
func readRun(path string) (runMetrics, error) {
	name := filepath.Base(filepath.Clean(path))
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "metrics.jsonl")
	} else {
		name = strings.TrimSuffix(name, filepath.Ext(name))
		if name == "metrics" {
			name = filepath.Base(filepath.Dir(path))
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return runMetrics{}, err
	}
	defer f.Close()
	r := runMetrics{name: name}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		row := map[string]any{}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return runMetrics{}, fmt.Errorf("%s:%d: not a JSON object: %w", path, line, err)
		}
		r.rows = append(r.rows, row)
	}
	if err := sc.Err(); err != nil {
		return runMetrics{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// points returns the (x, y) pairs of rows that have both keys as finite numbers.
func (r runMetrics) points(x, y string, logY bool) plotter.XYs {
	var xys plotter.XYs
	for _, row := range r.rows {
		xv, ok1 := row[x].(float64)
		yv, ok2 := row[y].(float64)
		if !ok1 || !ok2 || math.IsNaN(xv) || math.IsInf(xv, 0) || math.IsNaN(yv) || math.IsInf(yv, 0) || (logY && yv <= 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: xv, Y: yv})
	}
	return xys
}

// plotRuns draws one panel per key, stacked, with one line per run.
func plotRuns(path string, runs []runMetrics, x string, keys []string, logY bool, width vg.Length) error {
	plots := make([][]*plot.Plot, len(keys))
	for i, key := range keys {
		p := plot.New()
		p.Title.Text = key
		p.X.Label.Text = x
		p.Legend.Top = true
		if logY {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		}
		n := 0
		for j, r := range runs {
			xys := r.points(x, key, logY)
			if len(xys) == 0 {
				continue
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return err
			}
			l.Color = plotutil.Color(j)
			l.Width = vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(r.name, l)
			n++
		}
		if n == 0 {
			return fmt.Errorf("no run has numeric values for %q against %q", key, x)
		}
		p.Add(plotter.NewGrid())
		plots[i] = []*plot.Plot{p}
	}
	height := vg.Length(len(keys)) * width * 0.45
	img := vgimg.New(width, height)
	dc := draw.New(img)
	t := draw.Tiles{Rows: len(keys), Cols: 1, PadY: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, t, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	return writeFileAtomic(path, func(w io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w)
		return err
	})
}
