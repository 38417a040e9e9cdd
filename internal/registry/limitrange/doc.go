// Package limitrange provides the strategy for core/v1 LimitRanges, the per-namespace
// bounds and defaults of the resources pods, containers and claims use: DNS subdomain
// names, a random name for a range created without one (as upstream's), upstream's
// defaults (DefaultItem: a container's default limit from its max, its default request
// from the default limit or else from the min), its validation of each item (known or
// fully qualified types, each type once, resource names fit for the type, min <=
// defaultRequest <= default <= max, limit/request ratios of at least 1 and within
// max/min, a storage bound for claims), and the Table columns upstream's generic table
// shows. A LimitRange has no status.
package limitrange
