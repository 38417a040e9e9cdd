package apiserver

import (
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// listRower is a strategy whose rows depend on the other objects listed with them (a
// StorageClass is marked " (default)" when it is the effective default of the list).
type listRower interface {
	Rows(objs []runtime.Object, now time.Time) [][]interface{}
}

// table renders objects as a meta.k8s.io Table with the strategy's columns. Each row
// carries the object's metadata, the whole object, or nothing, as the includeObject
// query parameter asks (Metadata by default).
func (s *Server) table(r *http.Request, res *resource, mt mediaType, items []runtime.Object, rv, cont string, remaining *int64, columns bool) *metav1.Table {
	t := &metav1.Table{}
	t.APIVersion, t.Kind = "meta.k8s.io/"+mt.tableVersion, "Table"
	if columns {
		t.ColumnDefinitions = res.strategy.Columns()
	}
	t.ResourceVersion, t.Continue, t.RemainingItemCount = rv, cont, remaining
	include := metav1.IncludeMetadata
	switch v := metav1.IncludeObjectPolicy(r.URL.Query().Get("includeObject")); v {
	case metav1.IncludeNone, metav1.IncludeObject:
		include = v
	}
	now := s.clock.Now()
	t.Rows = make([]metav1.TableRow, 0, len(items))
	var cells [][]interface{}
	if lr, ok := res.strategy.(listRower); ok {
		cells = lr.Rows(items, now)
	}
	for i, obj := range items {
		var row metav1.TableRow
		if cells != nil {
			row.Cells = cells[i]
		} else {
			row.Cells = res.strategy.Row(obj, now)
		}
		switch include {
		case metav1.IncludeMetadata:
			row.Object.Object = partialMetadata(obj, res)
		case metav1.IncludeObject:
			row.Object.Object = s.withKind(obj, res.info.GroupVersionKind())
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
