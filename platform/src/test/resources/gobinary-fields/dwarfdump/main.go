// Ground truth written in Go: opens a binary with debug/elf + debug/dwarf and prints "struct.field offset" for every
// member of the struct types named on the command line.
package main

import (
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"os"
)

func main() {
	f, err := elf.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	d, err := f.DWARF()
	if err != nil {
		panic(err)
	}
	want := map[string]bool{}
	for _, s := range os.Args[2:] {
		want[s] = true
	}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			panic(err)
		}
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagStructType {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if !want[name] || !e.Children {
			continue
		}
		delete(want, name)
		for {
			m, err := r.Next()
			if err != nil {
				panic(err)
			}
			if m == nil || m.Tag == 0 {
				break
			}
			if m.Tag == dwarf.TagMember {
				fmt.Println(name+"."+m.Val(dwarf.AttrName).(string), m.Val(dwarf.AttrDataMemberLoc))
			}
			if m.Children {
				r.SkipChildren()
			}
		}
	}
}
