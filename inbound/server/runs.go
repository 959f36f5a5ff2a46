package server

import (
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
)

// listRequest lists at most one page of runs: a person has a few at once.
func listRequest(query string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{PageSize: 100, Query: query}
}

// dataConverterOK reads a Keyword search attribute (plain JSON, never
// encrypted).
func (s *Server) dataConverterOK(p *commonpb.Payload, v *string) bool {
	dc := converter.GetDefaultDataConverter()
	if dc.FromPayload(p, v) == nil {
		return true
	}
	var list []string
	if dc.FromPayload(p, &list) == nil && len(list) > 0 {
		*v = list[0]
		return true
	}
	return false
}
