/* The start-up floor: a static C program that exits at once. */
int main(void) { return 0; }
