#include <stddef.h>
#include <stdio.h>
struct inner { char c; long l; };
struct sample { int a; char b; double d; struct inner in; void *p; };
int main(void) {
  struct sample s = {0};
  printf("sample.a %zu\nsample.b %zu\nsample.d %zu\nsample.in %zu\nsample.p %zu\ninner.l %zu\n",
      offsetof(struct sample, a), offsetof(struct sample, b), offsetof(struct sample, d),
      offsetof(struct sample, in), offsetof(struct sample, p), offsetof(struct inner, l));
  return s.a;
}
