#include <stdio.h>
int main(void) { puts("templar: under construction"); return 0; }
