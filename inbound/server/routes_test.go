package server

import (
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/outpacehq/outpace/inbound/api"
)

// The server serves exactly the operations the OpenAPI document declares:
// no route the document does not describe, none it describes missing.
func TestRoutesAreTheDocument(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var inDoc, served []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inDoc = append(inDoc, method+" "+path)
		}
	}
	for _, rt := range (&Server{}).routes() {
		for method := range rt.methods {
			served = append(served, method+" "+rt.pattern)
		}
	}
	slices.Sort(inDoc)
	slices.Sort(served)
	if !slices.Equal(inDoc, served) {
		t.Errorf("the server serves\n  %v\nthe document declares\n  %v", served, inDoc)
	}
}
