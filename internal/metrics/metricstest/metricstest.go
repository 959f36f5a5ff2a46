// Package metricstest reads Prometheus metrics back in tests: from a
// registry, or from the text a /metrics endpoint served.
package metricstest

import (
	"io"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are metric families by their exposed name.
type Families map[string]*dto.MetricFamily

// Parse reads the Prometheus text format.
func Parse(r io.Reader) (Families, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

// Gather collects a registry.
func Gather(g prometheus.Gatherer) (Families, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, err
	}
	f := Families{}
	for _, mf := range mfs {
		f[mf.GetName()] = mf
	}
	return f, nil
}

// Counter sums the counter's series whose labels include the given pairs
// (name, value, name, value...); 0 when there are none.
func (f Families) Counter(name string, labels ...string) float64 {
	total := 0.0
	for _, m := range f.series(name, dto.MetricType_COUNTER, labels) {
		total += m.GetCounter().GetValue()
	}
	return total
}

// Gauge sums the gauge's series whose labels include the given pairs; 0
// when there are none.
func (f Families) Gauge(name string, labels ...string) float64 {
	total := 0.0
	for _, m := range f.series(name, dto.MetricType_GAUGE, labels) {
		total += m.GetGauge().GetValue()
	}
	return total
}

// Histogram sums the observation counts and sums of the histogram's series
// whose labels include the given pairs.
func (f Families) Histogram(name string, labels ...string) (count uint64, sum float64) {
	for _, m := range f.series(name, dto.MetricType_HISTOGRAM, labels) {
		count += m.GetHistogram().GetSampleCount()
		sum += m.GetHistogram().GetSampleSum()
	}
	return count, sum
}

// Buckets is the upper bounds of the histogram's buckets (without +Inf),
// from its first series.
func (f Families) Buckets(name string) []float64 {
	var out []float64
	if series := f.series(name, dto.MetricType_HISTOGRAM, nil); len(series) > 0 {
		for _, b := range series[0].GetHistogram().GetBucket() {
			out = append(out, b.GetUpperBound())
		}
	}
	return out
}

// Labels is the label set of every series of a metric.
func (f Families) Labels(name string) []map[string]string {
	var out []map[string]string
	if mf := f[name]; mf != nil {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out = append(out, l)
		}
	}
	return out
}

func (f Families) series(name string, typ dto.MetricType, labels []string) []*dto.Metric {
	mf := f[name]
	if mf == nil || mf.GetType() != typ {
		return nil
	}
	var out []*dto.Metric
	for _, m := range mf.GetMetric() {
		if hasLabels(m, labels) {
			out = append(out, m)
		}
	}
	return out
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
