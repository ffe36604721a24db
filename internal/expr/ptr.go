package expr

import "reflect"

// reflectPointer identifies a map or slice instance, for GitHub's rule that
// objects and arrays are equal only to themselves.
func reflectPointer(v any) uintptr {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice:
		return rv.Pointer()
	}
	return 0
}
