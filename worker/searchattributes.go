package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/outpacehq/outpace/workflows"
)

// checkSearchAttributes makes sure the namespace has every search attribute
// outpace's workflows set. Without one, a workflow task that sets it fails
// and is retried forever, so a missing attribute stops the worker at start-up
// with the command that registers it. A server that does not let this client
// list them (Temporal Cloud with a narrow API key) only gets a warning.
func checkSearchAttributes(tc client.Client, namespace string, logger *zap.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := tc.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		logger.Warn("could not list the namespace's search attributes; make sure they are registered",
			zap.String("namespace", namespace), zap.Error(err))
		return nil
	}
	var missing, create []string
	for _, sa := range workflows.SearchAttributes {
		name := sa.GetName()
		t, ok := resp.GetCustomAttributes()[name]
		if !ok {
			t, ok = resp.GetSystemAttributes()[name]
		}
		switch {
		case !ok:
			missing = append(missing, name)
			create = append(create, "--name "+name)
		case t != enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			return fmt.Errorf("search attribute %s in namespace %s has type %s; outpace needs Keyword", name, namespace, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("namespace %s lacks the search attributes %s; register them once with: temporal operator search-attribute create --namespace %s %s",
			namespace, strings.Join(missing, ", "), namespace, strings.Join(create, " ")+" --type Keyword")
	}
	return nil
}
