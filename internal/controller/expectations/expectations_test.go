package expectations

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestExpectations(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	e := New(clk.Now)
	e.ExpectCreates("ns/rs", 2)
	e.ExpectDeletes("ns/rs", []types.UID{"a"})
	e.Created("ns/rs")
	e.Deleted("ns/rs", "someone-elses")
	if e.Satisfied("ns/rs") {
		t.Fatal("satisfied with a creation and our deletion unseen")
	}
	e.Created("ns/rs")
	e.Deleted("ns/rs", "a")
	if !e.Satisfied("ns/rs") {
		t.Fatal("not satisfied once everything was seen")
	}
	e.ExpectCreates("ns/rs", 1)
	clk.Step(TTL + time.Second)
	if !e.Satisfied("ns/rs") {
		t.Fatal("expectations older than the TTL still hold the owner back")
	}
}
