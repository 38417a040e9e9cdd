package registry

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// NameColumn returns the "Name" column of a server-side Table, described as upstream
// describes metadata.name.
func NameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{
		Name:        "Name",
		Type:        "string",
		Format:      "name",
		Description: metav1.ObjectMeta{}.SwaggerDoc()["name"],
	}
}

// AgeColumn returns the "Age" column of a server-side Table, described as upstream
// describes metadata.creationTimestamp. Its cells come from Since.
func AgeColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{
		Name:        "Age",
		Type:        "string",
		Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"],
	}
}

// Since renders the time from t to now the way kubectl shows ages ("45s", "3m2s", "5d"),
// or "<unknown>" when t is zero.
func Since(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}
